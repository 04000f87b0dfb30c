using System.Numerics;
using GreenSeg.Common;

namespace GreenSeg.Phantom;

/// <summary>
/// Smooth 3D value noise in about [-1, 1]: random values on a lattice covering a box, interpolated
/// with a smoothstep. The lattice is turned by a random rotation so that its axis-aligned artefacts
/// (straight ridges along the cell edges) do not line up with the image axes. Points outside the box
/// are clamped to it. Read-only after construction, so safe to sample from many threads.
/// </summary>
internal sealed class LatticeNoise
{
    private readonly float[] _values;
    private readonly int _nx, _ny, _nz;
    private readonly Frame _rotation;
    private readonly Vector3 _origin;
    private readonly float _inverseCell;

    public LatticeNoise(DeterministicRandom random, Vector3 min, Vector3 max, float cellSize)
    {
        _inverseCell = 1f / cellSize;
        _rotation = Frame.FromAngles(random.Uniform(0, 2 * Math.PI), random.Uniform(0, 2 * Math.PI), random.Uniform(0, 2 * Math.PI));
        // The lattice covers the rotated box's bounding box.
        Vector3 low = new(float.PositiveInfinity), high = new(float.NegativeInfinity);
        for (int corner = 0; corner < 8; corner++)
        {
            var point = new Vector3((corner & 1) == 0 ? min.X : max.X, (corner & 2) == 0 ? min.Y : max.Y, (corner & 4) == 0 ? min.Z : max.Z);
            Vector3 turned = _rotation.ToLocal(point);
            low = Vector3.Min(low, turned);
            high = Vector3.Max(high, turned);
        }
        _origin = low;
        Vector3 cells = (high - low) * _inverseCell;
        _nx = (int)MathF.Ceiling(cells.X) + 2;
        _ny = (int)MathF.Ceiling(cells.Y) + 2;
        _nz = (int)MathF.Ceiling(cells.Z) + 2;
        _values = new float[_nx * _ny * _nz];
        for (int i = 0; i < _values.Length; i++) _values[i] = (float)(random.NextDouble() * 2.0 - 1.0);
    }

    public float Sample(Vector3 p)
    {
        Vector3 c = (_rotation.ToLocal(p) - _origin) * _inverseCell;
        Cell(c.X, _nx, out int x0, out float tx);
        Cell(c.Y, _ny, out int y0, out float ty);
        Cell(c.Z, _nz, out int z0, out float tz);
        int plane = _nx * _ny;
        int i = x0 + _nx * y0 + plane * z0;
        float c00 = Lerp(_values[i], _values[i + 1], tx);
        float c10 = Lerp(_values[i + _nx], _values[i + _nx + 1], tx);
        float c01 = Lerp(_values[i + plane], _values[i + plane + 1], tx);
        float c11 = Lerp(_values[i + plane + _nx], _values[i + plane + _nx + 1], tx);
        return Lerp(Lerp(c00, c10, ty), Lerp(c01, c11, ty), tz);
    }

    private static void Cell(float coordinate, int count, out int index, out float weight)
    {
        float clamped = Math.Clamp(coordinate, 0f, count - 1.001f);
        index = (int)clamped;
        float t = clamped - index;
        weight = t * t * (3f - 2f * t);
    }

    private static float Lerp(float a, float b, float t) => a + (b - a) * t;
}

/// <summary>Octaves of lattice noise, each half the cell size and half the amplitude of the last, scaled to about [-1, 1].</summary>
internal sealed class FractalNoise
{
    private readonly LatticeNoise[] _octaves;
    private readonly float _normalisation;

    public FractalNoise(DeterministicRandom random, Vector3 min, Vector3 max, float coarsestCell, int octaves)
    {
        _octaves = new LatticeNoise[octaves];
        float amplitudeSum = 0f;
        for (int o = 0; o < octaves; o++)
        {
            _octaves[o] = new LatticeNoise(random, min, max, coarsestCell / (1 << o));
            amplitudeSum += 1f / (1 << o);
        }
        // Interpolated uniform values spread less than the lattice values (quartiles about ±0.27); 1.5 keeps
        // the sum's quartiles near ±0.28 and its 1st/99th percentiles near ±0.9.
        _normalisation = 1.5f / amplitudeSum;
    }

    public float Sample(Vector3 p)
    {
        float sum = 0f, amplitude = 1f;
        foreach (LatticeNoise octave in _octaves)
        {
            sum += amplitude * octave.Sample(p);
            amplitude *= 0.5f;
        }
        return Math.Clamp(sum * _normalisation, -1f, 1f);
    }
}
