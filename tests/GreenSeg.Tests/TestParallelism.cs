// One test class at a time. TorchSharp 0.107 passes temporary Scalars (every tensor + tensor's alpha of 1, every
// tensor + number) whose finalizers can free them while libtorch still reads them; a finalizer runs after a garbage
// collection, which another thread's allocations start. Test classes running side by side allocate all the time, and a
// CI run failed so (Scalar::toFloat: "Expected false to be true"). Each test's libtorch already uses both cores.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
