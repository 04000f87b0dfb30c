using GreenSeg.Data;
using GreenSeg.Imaging;

namespace GreenSeg.Tests.Data;

public sealed class LoaderTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("greenseg-loader-").FullName;
    private readonly List<SliceRef> _slices = [];

    public LoaderTests()
    {
        for (int k = 0; k < 7; k++)
        {
            string image = Path.Combine(_root, $"s_slice{k:00}.nii"), mask = Path.Combine(_root, $"s_slice{k:00}_mask.nii");
            var values = Enumerable.Range(0, 16).Select(i => (float)(k * 100 + i)).ToArray();
            NiftiImage.Create(4, 4, 1, 1, 1, 1, values, NiftiDataType.Int16).Write(image);
            NiftiImage.Create(4, 4, 1, 1, 1, 1, values.Select(v => v % 2).ToArray(), NiftiDataType.UInt8).Write(mask);
            _slices.Add(new SliceRef(image, mask, 0));
        }
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Stands in for preprocessing: scales by a factor, so a changed "configuration" changes the output.</summary>
    private static Func<RawSlice, PreparedSample> Scale(float factor) =>
        raw => new PreparedSample(raw.Image.Select(v => v * factor).ToArray(), raw.Mask!, raw.Width);

    [Fact]
    public void MemoryCachePreparesEachSliceOnce()
    {
        var cache = new SampleCache(CacheMode.Memory, Scale(1), "f1");
        for (int round = 0; round < 3; round++)
            foreach (var slice in _slices) cache.Get(slice);
        cache.PreparedCount.ShouldBe(7);
        cache.HitCount.ShouldBe(14);
    }

    [Fact]
    public void DiskCachePersistsAcrossInstancesAndNeverServesAnotherConfiguration()
    {
        string folder = Path.Combine(_root, "cache");
        var first = new SampleCache(CacheMode.Disk, Scale(1), "spacing=1", folder);
        first.Get(_slices[3]).Image[0].ShouldBe(300);

        var again = new SampleCache(CacheMode.Disk, Scale(1), "spacing=1", folder);
        again.Get(_slices[3]).Image[0].ShouldBe(300);
        again.PreparedCount.ShouldBe(0);
        again.HitCount.ShouldBe(1);

        var changed = new SampleCache(CacheMode.Disk, Scale(2), "spacing=2", folder);
        changed.Get(_slices[3]).Image[0].ShouldBe(600);
        changed.PreparedCount.ShouldBe(1);
    }

    [Fact]
    public void DiskCacheRoundTripsTheSyntheticContrastClassesAndReadsEntriesWithoutThem()
    {
        string folder = Path.Combine(_root, "cache");
        Func<RawSlice, PreparedSample> withClasses = raw => Scale(1)(raw) with { Classes = raw.Mask!.Select(b => (byte)(b + 3)).ToArray() };
        byte[] classes = new SampleCache(CacheMode.Disk, withClasses, "classes", folder).Get(_slices[2]).Classes!;

        var again = new SampleCache(CacheMode.Disk, withClasses, "classes", folder);
        again.Get(_slices[2]).Classes.ShouldBe(classes);
        again.HitCount.ShouldBe(1);
        new SampleCache(CacheMode.Disk, Scale(1), "plain", folder).Get(_slices[2]);
        new SampleCache(CacheMode.Disk, Scale(1), "plain", folder).Get(_slices[2]).Classes.ShouldBeNull();
    }

    [Fact]
    public void DiskCacheEntryOfAnEditedFileIsNotReused()
    {
        string folder = Path.Combine(_root, "cache");
        new SampleCache(CacheMode.Disk, Scale(1), "f", folder).Get(_slices[0]);
        var values = Enumerable.Repeat(42f, 16).ToArray();
        NiftiImage.Create(4, 4, 1, 1, 1, 1, values, NiftiDataType.Int16).Write(_slices[0].ImagePath);
        File.SetLastWriteTimeUtc(_slices[0].ImagePath, DateTime.UtcNow.AddMinutes(1));

        new SampleCache(CacheMode.Disk, Scale(1), "f", folder).Get(_slices[0]).Image[0].ShouldBe(42);
    }

    [Fact]
    public void DiskCacheEntryOfAFileEditedInPlaceWithItsSizeAndTimeKeptIsNotReused()
    {
        string folder = Path.Combine(_root, "cache");
        string image = _slices[0].ImagePath;
        new SampleCache(CacheMode.Disk, Scale(1), "f", folder).Get(_slices[0]).Image[0].ShouldBe(0);
        var time = File.GetLastWriteTimeUtc(image);
        long length = new FileInfo(image).Length;
        NiftiImage.Create(4, 4, 1, 1, 1, 1, Enumerable.Repeat(42f, 16).ToArray(), NiftiDataType.Int16).Write(image);
        File.SetLastWriteTimeUtc(image, time);
        new FileInfo(image).Length.ShouldBe(length);

        new SampleCache(CacheMode.Disk, Scale(1), "f", folder).Get(_slices[0]).Image[0].ShouldBe(42);
    }

    [Theory]
    [InlineData("flipped byte")]
    [InlineData("truncated")]
    [InlineData("nan pixels")]
    public void A_damaged_disk_cache_entry_is_rebuilt_not_used(string damage)
    {
        string folder = Path.Combine(_root, "cache");
        var good = new SampleCache(CacheMode.Disk, Scale(1), "f", folder).Get(_slices[1]);
        string entry = Directory.GetFiles(folder, "*.sample", SearchOption.AllDirectories).Single();
        byte[] bytes = File.ReadAllBytes(entry);
        if (damage == "flipped byte") bytes[bytes.Length / 2] ^= 0x10;
        else if (damage == "truncated") bytes = bytes[..^9];
        else
        {
            // A NaN in the first pixel with a matching checksum: an entry written from a bad preparation.
            var poisoned = new SampleCache(CacheMode.Disk, raw => new PreparedSample([float.NaN, .. raw.Image[1..]], raw.Mask!, raw.Width), "f", Path.Combine(_root, "poisoned"));
            poisoned.Get(_slices[1]);
            bytes = File.ReadAllBytes(Directory.GetFiles(Path.Combine(_root, "poisoned"), "*.sample", SearchOption.AllDirectories).Single());
        }
        File.WriteAllBytes(entry, bytes);

        var cache = new SampleCache(CacheMode.Disk, Scale(1), "f", folder);
        var rebuilt = cache.Get(_slices[1]);

        cache.PreparedCount.ShouldBe(1);
        rebuilt.Image.ShouldBe(good.Image);
        new SampleCache(CacheMode.Disk, Scale(1), "f", folder).Get(_slices[1]).Image.ShouldBe(good.Image);
    }

    [Fact]
    public void WeightedEpochsDrawSlicesInProportionToTheirWeightAndNeverAZeroWeight()
    {
        // Slice k has first pixel 100 k; weights 0, 1, 1, 1, 1, 1, 5 (so slice 6 should fill half of the draws).
        double[] weights = [0, 1, 1, 1, 1, 1, 5];
        var loader = new BatchLoader(_slices, new SampleCache(CacheMode.Memory, Scale(1), "f"), 7, 4, seed: 3, BatchLoader.CopyWriter, 0, weights);
        var counts = new int[7];
        for (int epoch = 0; epoch < 400; epoch++)
            foreach (HostBatch batch in loader.Epoch(epoch))
                for (int i = 0; i < batch.Count; i++) counts[(int)(batch.Images[i * 16] / 100)]++;

        counts.Sum().ShouldBe(7 * 400);
        counts[0].ShouldBe(0);
        (counts[6] / (double)counts.Sum()).ShouldBe(0.5, 0.03);
        for (int k = 1; k < 6; k++) (counts[k] / (double)counts.Sum()).ShouldBe(0.1, 0.02);
        loader.Epoch(5).SelectMany(b => b.Images).ShouldBe(loader.Epoch(5).SelectMany(b => b.Images)); // seeded
    }

    [Fact]
    public void WeightsMustMatchTheSlicesAndNotAllBeZero()
    {
        var cache = new SampleCache(CacheMode.Memory, Scale(1), "f");
        Should.Throw<ArgumentException>(() => new BatchLoader(_slices, cache, 2, 4, 1, BatchLoader.CopyWriter, 0, [1, 2]));
        Should.Throw<ArgumentException>(() => new BatchLoader(_slices, cache, 2, 4, 1, BatchLoader.CopyWriter, 0, new double[7]));
        Should.Throw<ArgumentException>(() => new BatchLoader(_slices, cache, 2, 4, 1, BatchLoader.CopyWriter, 0, [1, 1, 1, -1, 1, 1, 1]));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void EveryEpochVisitsEverySliceOnceInASeededOrder(int prefetch)
    {
        var loader = new BatchLoader(_slices, new SampleCache(CacheMode.Memory, Scale(1), "f"), 3, 4, seed: 5, BatchLoader.CopyWriter, prefetch);
        var epoch0 = loader.Epoch(0).ToList();
        epoch0.Select(b => b.Count).ShouldBe([3, 3, 1]);
        var firstPixels = epoch0.SelectMany(b => Enumerable.Range(0, b.Count).Select(i => b.Images[i * 16])).ToList();
        firstPixels.Order().ShouldBe(Enumerable.Range(0, 7).Select(k => k * 100f));
        loader.Epoch(1).SelectMany(b => Enumerable.Range(0, b.Count).Select(i => b.Images[i * 16])).ShouldNotBe(firstPixels);
        loader.Epoch(0).SelectMany(b => Enumerable.Range(0, b.Count).Select(i => b.Images[i * 16])).ShouldBe(firstPixels);
        epoch0[0].Masks.ShouldAllBe(v => v == 0 || v == 1);
    }

    [Fact]
    public void PrefetchGivesExactlyTheSynchronousBatchesIncludingAugmentation()
    {
        SampleWriter noisy = (sample, random, image, mask) =>
        {
            BatchLoader.CopyWriter(sample, random, image, mask);
            for (int i = 0; i < image.Length; i++) image[i] += (float)random.NextDouble();
        };
        var cache = new SampleCache(CacheMode.None, Scale(1), "f");
        var sync = new BatchLoader(_slices, cache, 2, 4, 9, noisy, 0).Epoch(3).SelectMany(b => b.Images).ToArray();
        var ahead = new BatchLoader(_slices, cache, 2, 4, 9, noisy, 3).Epoch(3).SelectMany(b => b.Images).ToArray();
        ahead.ShouldBe(sync);
    }

    [Fact]
    public void AFailureWhilePrefetchingReachesTheConsumer()
    {
        var broken = new List<SliceRef>(_slices) { new(Path.Combine(_root, "missing.nii"), Path.Combine(_root, "missing_mask.nii"), 0) };
        var loader = new BatchLoader(broken, new SampleCache(CacheMode.None, Scale(1), "f"), 4, 4, 1, BatchLoader.CopyWriter, 2);
        Should.Throw<GreenSeg.Common.InvalidInputException>(() => loader.Epoch(0).ToList()).Problem.ShouldContain("not found");
    }

    [Fact]
    public void LeavingAnEpochEarlyStopsTheProducer()
    {
        var loader = new BatchLoader(_slices, new SampleCache(CacheMode.None, Scale(1), "f"), 1, 4, 1, BatchLoader.CopyWriter, 1);
        loader.Epoch(0).Take(2).Count().ShouldBe(2);
        loader.Epoch(1).Count().ShouldBe(7);
    }
}
