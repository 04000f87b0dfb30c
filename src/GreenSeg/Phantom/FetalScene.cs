using System.Numerics;
using GreenSeg.Common;

namespace GreenSeg.Phantom;

/// <summary>
/// One random pregnant abdomen in world millimetres: maternal body (fat, muscle wall, bowel, spine),
/// uterus with wall, placenta and amniotic fluid, a fetus (trunk, limbs) and its head (scalp, skull,
/// eyes, and inside the skull a CSF rim around a brain with cortex, subplate, white matter, deep grey
/// matter, ventricles, sulci, Sylvian and midline fissures). Everything is 3D, so neighbouring slices
/// agree. <see cref="Evaluate"/> paints the layers from the outside in with soft partial-volume edges.
/// The brain mask is the intracranial space (inside the skull, CSF rim included), as in the E2MIP
/// masks; it is the sign of the same distance used for painting, so image and mask agree exactly.
/// </summary>
internal sealed class FetalScene
{
    // Stack geometry chosen together with the anatomy (the slice count follows the brain's extent).
    public double Spacing { get; }
    public double Thickness { get; }
    public int Slices { get; }

    private readonly SequenceProfile _profile;
    private readonly TissueContrast _c;
    private readonly float _edge;
    private readonly float _fovX, _fovY, _depth;

    // Maternal body: an elliptical cylinder along z.
    private readonly Vector2 _bodyCenter, _bodyAxisX, _bodyAxisY;
    private readonly float _bodyRx, _bodyRy, _fat, _muscle;
    private readonly Vector2 _vertebra, _canal, _paraspinalLeft, _paraspinalRight;
    private readonly float _vertebraRadius, _canalRadius;
    private readonly Vector2 _paraspinalRadii;

    // Uterus.
    private readonly Ellipsoid _uterus;
    private readonly float _wall, _placentaCos, _placentaThickness;
    private readonly Vector3 _placentaDirection;

    // Fetus.
    private readonly Ellipsoid _trunk;
    private readonly Ellipsoid[] _limbs;
    private readonly Ellipsoid _head; // bounds the intracranial space; local x = anterior, y = left, z = superior
    private readonly float _headReach, _csf, _skull, _scalp, _perturbation, _cortex, _sulcation, _sylvian;
    private readonly (Vector3 Center, Vector3 Radii)[] _ventricles, _deepGrey;
    private readonly (Vector3 Center, float Radius)[] _eyes;

    private readonly FractalNoise _shape, _bowel, _texture, _bias, _sulci;
    private readonly LatticeNoise _placentaTexture, _craniumShape, _brainTexture;

    public FetalScene(DeterministicRandom random, SequenceProfile profile)
    {
        _profile = profile;
        _c = profile.Contrast;
        Spacing = (float)random.Uniform(profile.MinSpacing, profile.MaxSpacing); // float: NIfTI stores pixdim as float32
        double thickness = profile.SliceThicknesses[random.NextInt(0, profile.SliceThicknesses.Length - 1)];
        _edge = (float)(0.6 * Spacing);
        _fovX = (float)(profile.Width * Spacing);
        _fovY = (float)(profile.Height * Spacing);

        // Intracranial size and pose: an ellipsoid 60-100 mm long, seen axially, coronally or sagittally, tilted and turned.
        float a = (float)random.Uniform(30, 50);
        var cranialRadii = new Vector3(a, a * (float)random.Uniform(0.78, 0.9), a * (float)random.Uniform(0.7, 0.85));
        Frame view = random.NextInt(0, 2) switch
        {
            0 => Frame.Identity,                                        // axial: superior along z
            1 => new Frame(Vector3.UnitZ, Vector3.UnitX, Vector3.UnitY), // coronal: anterior along z
            _ => new Frame(Vector3.UnitX, Vector3.UnitZ, -Vector3.UnitY), // sagittal: left along z
        };
        Frame headFrame = Frame.FromAngles(random.Uniform(0, 2 * Math.PI), random.Uniform(-0.35, 0.35), random.Uniform(-0.35, 0.35)).Compose(view);
        var cranium = new Ellipsoid(Vector3.Zero, cranialRadii, headFrame);

        // Slices: every slice through the cranium plus 2-7 empty slices on each side, 20-40 in all where the brain allows.
        float halfZ = cranium.HalfExtent(Vector3.UnitZ);
        if (2 * halfZ / thickness + 2 > profile.MaxSlices) thickness = Math.Ceiling(2 * halfZ / (profile.MaxSlices - 2) * 20) / 20;
        Thickness = (float)thickness;
        int brainSlices = (int)Math.Ceiling(2 * halfZ / Thickness);
        int below = random.NextInt(2, 7), above = random.NextInt(2, 7);
        while (brainSlices + below + above < profile.MinSlices) { if (below <= above) below++; else above++; }
        while (brainSlices + below + above > profile.MaxSlices && Math.Max(below, above) > 1) { if (below >= above) below--; else above--; }
        Slices = brainSlices + below + above;
        _depth = (float)(Slices * Thickness);
        float slack = (float)(brainSlices * Thickness) - 2 * halfZ;
        float centerZ = -_depth / 2 + below * (float)Thickness + halfZ + slack * (float)random.NextDouble();

        _csf = (float)random.Uniform(2.0, 5.0);
        _skull = (float)random.Uniform(1.3, 2.2);
        _scalp = (float)random.Uniform(1.5, 3.0);
        float layers = _skull + _scalp;
        _headReach = cranialRadii.X + layers + 12f; // includes the eyes
        float limitX = Math.Max(0f, _fovX / 2 - cranium.HalfExtent(Vector3.UnitX) - layers - 8f);
        float limitY = Math.Max(0f, _fovY / 2 - cranium.HalfExtent(Vector3.UnitY) - layers - 8f);
        var headCenter = new Vector3(0.75f * limitX * (float)random.Uniform(-1, 1), 0.75f * limitY * (float)random.Uniform(-1, 1), centerZ);
        _head = new Ellipsoid(headCenter, cranialRadii, headFrame);
        _perturbation = (float)random.Uniform(1.0, 2.5);
        _cortex = (float)random.Uniform(2.2, 3.5);
        _sulcation = (float)random.NextDouble();
        _sylvian = (float)random.Uniform(2, 12);

        // Inside the brain, in head-local millimetres.
        float ventricleScale = (float)random.Uniform(0.7, 1.3);
        _ventricles = new (Vector3, Vector3)[2];
        _deepGrey = new (Vector3, Vector3)[2];
        _eyes = new (Vector3, float)[2];
        for (int side = 0; side < 2; side++)
        {
            float sign = side == 0 ? 1f : -1f;
            _ventricles[side] = (cranialRadii * new Vector3(-0.05f, sign * 0.22f, 0.08f),
                cranialRadii * new Vector3(0.55f, 0.13f * ventricleScale, 0.22f * ventricleScale));
            _deepGrey[side] = (cranialRadii * new Vector3(0.02f, sign * 0.2f, -0.12f), cranialRadii * new Vector3(0.2f, 0.13f, 0.2f));
            Vector3 eyeDirection = Vector3.Normalize(new Vector3(0.8f, sign * 0.45f, -0.45f));
            float eyeRadius = 0.13f * a;
            Vector3 onBrain = eyeDirection / (eyeDirection / cranialRadii).Length();
            _eyes[side] = (onBrain + eyeDirection * (layers + 0.6f * eyeRadius), eyeRadius);
        }

        // Uterus around the head, its wall, and a placenta on one side.
        _wall = (float)random.Uniform(5, 10);
        float headOuter = cranialRadii.X + layers;
        var uterusRadii = new Vector3(
            headOuter + _wall + (float)random.Uniform(5, 30),
            headOuter + _wall + (float)random.Uniform(5, 30),
            headOuter + _wall + (float)random.Uniform(5, 30));
        Frame uterusFrame = Frame.FromAngles(random.Uniform(0, 2 * Math.PI), random.Uniform(-0.2, 0.2), random.Uniform(-0.2, 0.2));
        Vector3 room = uterusRadii - new Vector3(_wall + headOuter + 5f);
        var headOffset = new Vector3(room.X * (float)random.Uniform(-0.8, 0.8), room.Y * (float)random.Uniform(-0.8, 0.8), room.Z * (float)random.Uniform(-0.8, 0.8));
        _uterus = new Ellipsoid(headCenter - uterusFrame.ToWorld(headOffset), uterusRadii, uterusFrame);
        _placentaDirection = RandomUnit(random);
        _placentaCos = MathF.Cos((float)random.Uniform(0.6, 1.15));
        _placentaThickness = (float)random.Uniform(18, 35);

        // Fetal trunk below the head, and a few limbs near it.
        Vector3 neck = headFrame.ToWorld(Vector3.Normalize(new Vector3((float)random.Uniform(-0.6, 0.6), (float)random.Uniform(-0.6, 0.6), -1f)));
        var trunkRadii = new Vector3(a * (float)random.Uniform(1.6, 2.0), cranialRadii.Y * (float)random.Uniform(1.0, 1.25), cranialRadii.Y * (float)random.Uniform(0.9, 1.1));
        _trunk = new Ellipsoid(headCenter + neck * (cranialRadii.Z * 0.85f + trunkRadii.X * 0.95f), trunkRadii,
            Frame.AlongDirection(neck, random.Uniform(0, 2 * Math.PI)));
        _limbs = new Ellipsoid[random.NextInt(2, 5)];
        for (int i = 0; i < _limbs.Length; i++)
        {
            Vector3 center = _trunk.Center + RandomUnit(random) * trunkRadii.X * (float)random.Uniform(0.5, 1.1);
            var radii = new Vector3((float)random.Uniform(20, 35), (float)random.Uniform(4.5, 7.5), (float)random.Uniform(4.5, 7.5));
            _limbs[i] = new Ellipsoid(center, radii, Frame.AlongDirection(RandomUnit(random), 0));
        }

        // Maternal body: the uterus lies against the anterior wall (body-local -y), the spine is posterior.
        double bodyAngle = random.Uniform(0, 2 * Math.PI);
        _bodyAxisX = new Vector2((float)Math.Cos(bodyAngle), (float)Math.Sin(bodyAngle));
        _bodyAxisY = new Vector2(-_bodyAxisX.Y, _bodyAxisX.X);
        _fat = (float)random.Uniform(8, 20);
        _muscle = (float)random.Uniform(3, 7);
        float wallLayers = _fat + _muscle;
        float uterusHalfX = _uterus.HalfExtent(new Vector3(_bodyAxisX, 0));
        float uterusHalfY = _uterus.HalfExtent(new Vector3(_bodyAxisY, 0));
        _bodyRx = Math.Max((float)random.Uniform(150, 190), uterusHalfX + wallLayers + 10f);
        _bodyRy = Math.Max((float)random.Uniform(115, 150), uterusHalfY + wallLayers + 10f);
        float uterusX = (float)random.Uniform(-1, 1) * 0.4f * (_bodyRx - uterusHalfX - wallLayers - 10f);
        float uterusY = -(_bodyRy - uterusHalfY - wallLayers - (float)random.Uniform(0, 10));
        _bodyCenter = new Vector2(_uterus.Center.X, _uterus.Center.Y) - uterusX * _bodyAxisX - uterusY * _bodyAxisY;
        float spineY = _bodyRy - wallLayers - (float)random.Uniform(28, 40);
        _vertebraRadius = (float)random.Uniform(14, 19);
        _canalRadius = (float)random.Uniform(5, 7);
        float shift = (float)random.Uniform(-15, 15);
        _vertebra = BodyPoint(shift, spineY - _vertebraRadius - 6f);
        _canal = BodyPoint(shift, spineY);
        float paraspinalX = (float)random.Uniform(30, 40);
        _paraspinalLeft = BodyPoint(shift - paraspinalX, spineY + 2f);
        _paraspinalRight = BodyPoint(shift + paraspinalX, spineY + 2f);
        _paraspinalRadii = new Vector2((float)random.Uniform(16, 22), (float)random.Uniform(13, 18));

        // Texture fields over the stack, finer ones only around the head.
        var min = new Vector3(-_fovX / 2, -_fovY / 2, -_depth / 2);
        var max = -min;
        _shape = new FractalNoise(random, min, max, 60f, 2);
        _bowel = new FractalNoise(random, min, max, 26f, 2);
        _texture = new FractalNoise(random, min, max, 5f, 2);
        _bias = new FractalNoise(random, min, max, 160f, 2);
        _placentaTexture = new LatticeNoise(random, min, max, 6f);
        var headBox = new Vector3(_headReach);
        _craniumShape = new LatticeNoise(random, headCenter - headBox, headCenter + headBox, 16f);
        _brainTexture = new LatticeNoise(random, headCenter - headBox, headCenter + headBox, 2.5f);
        _sulci = new FractalNoise(random, headCenter - headBox, headCenter + headBox, 16f, 2);
    }

    /// <summary>World position of a voxel centre; the stack is centred on the world origin.</summary>
    public Vector3 VoxelCenter(int x, int y, int z) => new(
        (float)((x + 0.5) * Spacing) - _fovX / 2,
        (float)((y + 0.5) * Spacing) - _fovY / 2,
        (float)((z + 0.5) * Thickness) - _depth / 2);

    /// <summary>Smooth multiplicative bias field at p.</summary>
    public float Bias(Vector3 p) => MathF.Exp(_profile.BiasStrength * _bias.Sample(p));

    /// <summary>Noise-free relative signal at p; <paramref name="brain"/> is the exact brain mask there.</summary>
    public float Evaluate(Vector3 p, out bool brain)
    {
        float shape = _shape.Sample(p); // irregular outlines and layer thicknesses
        // The head is painted over whatever surrounds it, so the mask is always the whole cranium.
        return Head(p, Surroundings(p, shape), shape, out brain);
    }

    /// <summary>Everything but the fetal head: air, the mother's body, the uterus and its content, the fetal trunk and limbs.</summary>
    private float Surroundings(Vector3 p, float shape)
    {
        var flat = new Vector2(p.X, p.Y) - _bodyCenter;
        float bx = Vector2.Dot(flat, _bodyAxisX), by = Vector2.Dot(flat, _bodyAxisY);
        float dBody = Shapes.EllipseDistance(bx, by, _bodyRx, _bodyRy) + 10f * shape;
        if (dBody >= _edge) return 0f; // air outside the mother
        float texture = _texture.Sample(p);
        float fat = _fat * (1f + 0.5f * shape);
        float v = Shapes.Blend(0f, _c.Fat * (1f + 0.12f * texture), Shapes.Coverage(dBody, _edge));
        v = Shapes.Blend(v, _c.Muscle, Shapes.Coverage(dBody + fat, _edge));
        float inner = Shapes.Coverage(dBody + fat + _muscle, _edge);
        if (inner > 0f) v = Shapes.Blend(v, MaternalInterior(p, texture), inner);

        float dUterus = _uterus.Distance(p) + 4f * shape;
        if (dUterus >= _edge) return v;
        v = Shapes.Blend(v, _c.UterineWall * (1f + 0.2f * texture), Shapes.Coverage(dUterus, _edge));
        float cavity = Shapes.Coverage(dUterus + _wall, _edge);
        if (cavity <= 0f) return v;
        v = Shapes.Blend(v, UterineContent(p, -(dUterus + _wall)), cavity);

        v = Shapes.Blend(v, FetalBody(p, texture), Shapes.Coverage(_trunk.Distance(p), _edge) * cavity);
        foreach (Ellipsoid limb in _limbs)
            v = Shapes.Blend(v, _c.FetalBody * (1f + 0.2f * texture), Shapes.Coverage(limb.Distance(p), _edge) * cavity);
        return v;
    }

    private float MaternalInterior(Vector3 p, float texture)
    {
        float v = _c.Maternal + _c.MaternalTexture * texture;
        // Bowel: winding tubes where one noise field crosses zero; their content is gas (dark) or fluid
        // (bright) by a second field, with a wall of ordinary tissue around it. Fat fills some gaps.
        float tube = MathF.Abs(_bowel.Sample(p)) - 0.25f;
        float content = _bowel.Sample(p + new Vector3(71f, -23f, 13f));
        v = Shapes.Blend(v, _c.Fat * (1f + 0.1f * texture), Shapes.Coverage(0.5f - content, 0.05f));
        float lumen = Shapes.Blend(_c.BowelFluid, _c.BowelDark, Shapes.Coverage(-0.25f - content, 0.08f));
        v = Shapes.Blend(v, _c.Maternal, Shapes.Coverage(tube, 0.03f));
        v = Shapes.Blend(v, lumen, Shapes.Coverage(tube + 0.08f, 0.03f));
        var flat = new Vector2(p.X, p.Y);
        v = Shapes.Blend(v, _c.Muscle, Shapes.Coverage(EllipseAt(flat, _paraspinalLeft, _paraspinalRadii), _edge));
        v = Shapes.Blend(v, _c.Muscle, Shapes.Coverage(EllipseAt(flat, _paraspinalRight, _paraspinalRadii), _edge));
        v = Shapes.Blend(v, _c.Bone * (1f + 0.3f * texture), Shapes.Coverage(Vector2.Distance(flat, _vertebra) - _vertebraRadius, _edge));
        v = Shapes.Blend(v, _c.SpinalFluid, Shapes.Coverage(Vector2.Distance(flat, _canal) - _canalRadius, _edge));
        return v;
    }

    private float UterineContent(Vector3 p, float depthInsideWall)
    {
        Vector3 fromCenter = p - _uterus.Center;
        float length = fromCenter.Length();
        float cos = length > 1e-3f ? Vector3.Dot(fromCenter, _placentaDirection) / length : 0f;
        float placenta = Shapes.Coverage(_placentaCos - cos, 0.08f) * Shapes.Coverage(depthInsideWall - _placentaThickness, 2f * _edge);
        float placentaSignal = _c.Placenta * (1f + 0.25f * _placentaTexture.Sample(p));
        return Shapes.Blend(_c.AmnioticFluid, placentaSignal, placenta);
    }

    private float FetalBody(Vector3 p, float texture)
    {
        Vector3 q = _trunk.ToLocal(p);
        float along = q.X / _trunk.Radii.X; // -1 at the neck, +1 at the pelvis
        float v = Shapes.Blend(_c.FetalLung, _c.FetalLiver, Shapes.Coverage(-along, 0.08f));
        v = Shapes.Blend(_c.FetalBody, v, Shapes.Coverage(Shapes.EllipsoidDistance(q, _trunk.Radii * 0.8f), _edge));
        float stomach = (q - _trunk.Radii * new Vector3(0.25f, 0.3f, 0f)).Length() - 0.22f * _trunk.Radii.Y;
        v = Shapes.Blend(v, _c.AmnioticFluid * 0.9f, Shapes.Coverage(stomach, _edge));
        return v * (1f + 0.15f * texture);
    }

    private float Head(Vector3 p, float v, float shape, out bool brain)
    {
        brain = false;
        Vector3 q = _head.ToLocal(p);
        if (q.LengthSquared() > _headReach * _headReach) return v;
        // The inner skull surface lies up to _perturbation inside the bounding ellipsoid, never outside
        // it, so the slices planned as empty stay empty.
        float dCranium = Shapes.EllipsoidDistance(q, _head.Radii) + _perturbation * 0.5f * (_craniumShape.Sample(p) + 1f);
        float skull = _skull * (1f + 0.3f * shape);
        v = Shapes.Blend(v, _c.Scalp, Shapes.Coverage(dCranium - skull - _scalp, _edge));
        foreach ((Vector3 center, float radius) in _eyes)
        {
            float dEye = Vector3.Distance(q, center) - radius;
            if (dEye >= _edge + 1.2f) continue;
            v = Shapes.Blend(v, _c.Skull, Shapes.Coverage(dEye - 1.2f, _edge)); // the eye wall
            v = Shapes.Blend(v, _c.Eye, Shapes.Coverage(dEye, _edge));
        }
        if (dCranium >= skull + _edge) return v;
        v = Shapes.Blend(v, _c.Skull, Shapes.Coverage(dCranium - skull, _edge));
        brain = dCranium <= 0f;
        float inside = Shapes.Coverage(dCranium, _edge);
        if (inside <= 0f) return v;
        v = Shapes.Blend(v, _c.Csf, inside);

        // The CSF rim is wider in some places than others, and the Sylvian fissures cut in from the sides.
        float csf = _csf * (1f + 0.6f * _shape.Sample(p + new Vector3(37f, 11f, 5f)));
        float lateral = Math.Clamp((MathF.Abs(q.Y) / _head.Radii.Y - 0.3f) / 0.7f, 0f, 1f);
        float sylvianHeight = (q.Z / _head.Radii.Z + 0.1f) / 0.18f;
        float sylvian = _sylvian * lateral * lateral * MathF.Exp(-sylvianHeight * sylvianHeight) * Shapes.Coverage(MathF.Abs(q.X) / _head.Radii.X - 0.45f, 0.3f);
        float dTissue = dCranium + csf + sylvian;
        float tissue = Shapes.Coverage(dTissue, _edge);
        return tissue > 0f ? Shapes.Blend(v, BrainTissue(p, q, -dTissue), tissue) : v;
    }

    /// <summary>
    /// Fetal brain on T2: dark cortex over a bright subplate, intermediate white matter, dark germinal
    /// matrix lining bright ventricles, darker deep grey nuclei, CSF in sulci and the midline fissure.
    /// </summary>
    private float BrainTissue(Vector3 p, Vector3 q, float depth)
    {
        float v = _c.WhiteMatter + _c.WhiteMatterTexture * _brainTexture.Sample(p);
        v = Shapes.Blend(v, _c.Subplate, Shapes.Coverage(depth - _cortex - 3.5f, 1.5f));
        for (int side = 0; side < 2; side++)
        {
            v = Shapes.Blend(v, _c.DeepGrey, Shapes.Coverage(Shapes.EllipsoidDistance(q - _deepGrey[side].Center, _deepGrey[side].Radii), _edge));
            float dVentricle = Shapes.EllipsoidDistance(q - _ventricles[side].Center, _ventricles[side].Radii);
            v = Shapes.Blend(v, _c.GerminalMatrix, Shapes.Coverage(dVentricle - 1.5f, _edge));
            v = Shapes.Blend(v, _c.Ventricle, Shapes.Coverage(dVentricle, _edge));
        }
        v = Shapes.Blend(v, _c.Cortex, Shapes.Coverage(depth - _cortex, _edge));

        // Sulci: thin CSF-filled clefts cutting in from the surface, deeper in older (more folded) brains.
        float sulcusDepth = 3f + 10f * _sulcation;
        if (depth < sulcusDepth + _edge)
        {
            // The noise changes by about 1 per SulcusNoiseMillimetres, which turns the noise level into a distance.
            const float SulcusNoiseMillimetres = 9f;
            float cleft = (MathF.Abs(_sulci.Sample(p)) - 0.04f - 0.06f * _sulcation) * SulcusNoiseMillimetres;
            v = Shapes.Blend(v, _c.Csf, Shapes.Coverage(cleft, _edge) * Shapes.Coverage(depth - sulcusDepth, _edge));
        }

        // Interhemispheric fissure: a CSF sheet on the midline, front and back and over the top, not
        // through the deep centre (corpus callosum, thalami). Soft region edges keep a slice that runs
        // along the midline free of straight seams.
        float fissureRegion = MathF.Max(Shapes.Coverage(0.4f * _head.Radii.X - MathF.Abs(q.X), 3f),
            Shapes.Coverage(0.35f * _head.Radii.Z - q.Z, 3f)) * Shapes.Coverage(depth - 0.4f * _head.Radii.Y, 3f);
        if (fissureRegion > 0f) v = Shapes.Blend(v, _c.Csf, 0.8f * fissureRegion * Shapes.Coverage(MathF.Abs(q.Y) - 0.8f, _edge));
        return v;
    }

    private Vector2 BodyPoint(float x, float y) => _bodyCenter + x * _bodyAxisX + y * _bodyAxisY;

    private float EllipseAt(Vector2 point, Vector2 center, Vector2 radii)
    {
        Vector2 d = point - center;
        return Shapes.EllipseDistance(Vector2.Dot(d, _bodyAxisX), Vector2.Dot(d, _bodyAxisY), radii.X, radii.Y);
    }

    private static Vector3 RandomUnit(DeterministicRandom random)
    {
        var v = new Vector3((float)random.NextGaussian(), (float)random.NextGaussian(), (float)random.NextGaussian());
        float length = v.Length();
        return length > 1e-6f ? v / length : Vector3.UnitX;
    }
}
