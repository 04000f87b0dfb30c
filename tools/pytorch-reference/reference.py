"""An independent PyTorch implementation of GreenSeg's default training recipe, trained on every labelled stack
but the held-out ones and scored in 3D on those, as `greenseg crossval` scores a fold. A measurement instrument
for the developers (is a gap the engine's or the recipe's?), not part of GreenSeg; see README.md beside it.

usage: python3 reference.py test=ID,ID,... [width=16] [up=transpose|bilinear] [bias=0|1] [aug=0|1]
                            [epochs=25] [seed=42] [threads=1] [data=DIR] [out=DIR]
"""
import sys, os, re, glob, math, time, json, random
import numpy as np, nibabel as nib, torch, torch.nn as nn, torch.nn.functional as F

args = dict(a.split("=", 1) for a in sys.argv[1:])
DATA = args.get("data", os.path.join(os.path.dirname(__file__), "../../../shared/data/e2mip-fetal/train_slice"))
test_ids = args["test"].split(",")
width = int(args.get("width", 16))
epochs = int(args.get("epochs", 25))
up_mode = args.get("up", "transpose")      # transpose | bilinear
seed = int(args.get("seed", 42))
threads = int(args.get("threads", 1))
aug_on = args.get("aug", "1") == "1"
bias_on = args.get("bias", "0") == "1"
out = args.get("out", "reference-out")
torch.set_num_threads(threads)
torch.manual_seed(seed); np.random.seed(seed); random.seed(seed)
SIZE, SP = 128, 2.0

def load_slices():
    stacks = {}
    for f in sorted(glob.glob(f"{DATA}/images/*.nii.gz")):
        name = os.path.basename(f)
        m = re.match(r"(.+)_slice(\d+)\.nii\.gz", name)
        sid, k = m.group(1), int(m.group(2))
        img = nib.load(f); msk = nib.load(f"{DATA}/masks/{name[:-7]}_mask.nii.gz")
        a = np.asarray(img.get_fdata(), dtype=np.float32).squeeze()
        b = (np.asarray(msk.get_fdata()).squeeze() > 0.5).astype(np.float32)
        sx, sy = [float(v) for v in img.header.get_zooms()[:2]]
        stacks.setdefault(sid, []).append((k, a, b, sx, sy))
    return {s: sorted(v, key=lambda t: t[0]) for s, v in stacks.items()}

def place(t, n):  # centre crop/pad a (H, W) tensor to n x n; returns tensor and offsets
    h, w = t.shape
    out = torch.zeros(n, n)
    oy, ox = (n - h) // 2, (n - w) // 2
    sy0, dy0 = max(0, -oy), max(0, oy); sx0, dx0 = max(0, -ox), max(0, ox)
    hh, ww = min(h - sy0, n - dy0), min(w - sx0, n - dx0)
    out[dy0:dy0 + hh, dx0:dx0 + ww] = t[sy0:sy0 + hh, sx0:sx0 + ww]
    return out

def prep(a, b, sx, sy):
    h, w = a.shape  # axis0 = x, axis1 = y (array order); spacing sx along axis0
    nh, nw = max(1, round(h * sx / SP)), max(1, round(w * sy / SP))
    t = torch.from_numpy(a)[None, None]
    r = F.interpolate(t, size=(nh, nw), mode="bilinear", align_corners=False)[0, 0]
    nz = a[a != 0]
    mean, std = (nz.mean(), nz.std()) if nz.size else (0.0, 1.0)
    r = torch.where(r != 0, (r - float(mean)) / float(max(std, 1e-12)), r)
    img = place(r, SIZE)
    m = None
    if b is not None:
        mr = F.interpolate(torch.from_numpy(b)[None, None], size=(nh, nw), mode="nearest")[0, 0]
        m = place(mr, SIZE)
    return img, m, (h, w, nh, nw)

def unprep(p, geom):  # p: SIZE x SIZE probabilities -> original slice grid
    h, w, nh, nw = geom
    full = torch.zeros(nh, nw)
    oy, ox = (SIZE - nh) // 2, (SIZE - nw) // 2
    # inverse of place: content of canvas back into an nh x nw grid
    sy0, dy0 = max(0, oy), max(0, -oy); sx0, dx0 = max(0, ox), max(0, -ox)
    hh, ww = min(nh - dy0, SIZE - sy0), min(nw - dx0, SIZE - sx0)
    full[dy0:dy0 + hh, dx0:dx0 + ww] = p[sy0:sy0 + hh, sx0:sx0 + ww]
    return F.interpolate(full[None, None], size=(h, w), mode="bilinear", align_corners=False)[0, 0]

class DoubleConv(nn.Sequential):
    def __init__(s, i, o):
        super().__init__(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True),
                         nn.Conv2d(o, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))

class Up(nn.Module):
    def __init__(s, i, o):
        super().__init__()
        s.up = nn.ConvTranspose2d(i, o, 2, stride=2) if up_mode == "transpose" else nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), nn.Conv2d(i, o, 1))
        s.conv = DoubleConv(2 * o, o)
    def forward(s, x, skip):
        return s.conv(torch.cat([skip, s.up(x)], 1))

class UNet(nn.Module):
    def __init__(s, b):
        super().__init__()
        w = [b << l for l in range(5)]
        s.inc = DoubleConv(1, w[0])
        s.downs = nn.ModuleList([nn.Sequential(nn.MaxPool2d(2), DoubleConv(w[l - 1], w[l])) for l in range(1, 5)])
        s.ups = nn.ModuleList([Up(w[l], w[l - 1]) for l in range(4, 0, -1)])
        s.head = nn.Conv2d(w[0], 1, 1)
    def forward(s, x):
        skips = [s.inc(x)]
        for d in s.downs: skips.append(d(skips[-1]))
        x = skips[-1]
        for i, u in enumerate(s.ups): x = u(x, skips[3 - i])
        return s.head(x)

def augment(img, m):
    if random.random() < 0.5: img, m = img.flip(1), m.flip(1)
    if random.random() < 0.5: img, m = img.flip(0), m.flip(0)
    rot = random.random() < 0.3; ang = random.uniform(-15, 15)
    sc = random.random() < 0.3; s = math.exp(random.uniform(math.log(0.85), math.log(1.15)))
    if rot or sc:
        a = math.radians(ang if rot else 0); s = s if sc else 1
        theta = torch.tensor([[math.cos(a) / s, -math.sin(a) / s, 0], [math.sin(a) / s, math.cos(a) / s, 0]], dtype=torch.float32)[None]
        grid = F.affine_grid(theta, (1, 1, SIZE, SIZE), align_corners=False)
        img = F.grid_sample(img[None, None], grid, mode="bilinear", align_corners=False)[0, 0]
        m = F.grid_sample(m[None, None], grid, mode="nearest", align_corners=False)[0, 0]
    if bias_on and random.random() < 0.3:
        c = [random.uniform(-0.3, 0.3) for _ in range(5)]
        yy, xx = torch.meshgrid(torch.linspace(-1, 1, SIZE), torch.linspace(-1, 1, SIZE), indexing="ij")
        mn = img.min(); img = mn + (img - mn) * torch.exp(c[0] * xx + c[1] * yy + c[2] * xx * xx + c[3] * xx * yy + c[4] * yy * yy)
    if random.random() < 0.3:
        g = random.uniform(0.7, 1.0) if random.random() < 0.5 else random.uniform(1.0, 1.5)
        mean, std = img.mean(), img.std(); mn, mx = img.min(), img.max()
        if mx > mn:
            img = mn + (mx - mn) * ((img - mn) / (mx - mn)) ** g
            img = (img - img.mean()) / max(float(img.std()), 1e-12) * std + mean
    if random.random() < 0.15:
        img = img + random.uniform(0, 0.1) * torch.randn_like(img)
    return img, m

def loss_fn(logits, t):
    p = torch.sigmoid(logits)
    dice = 1 - (2 * (p * t).sum() + 1e-5) / (p.sum() + t.sum() + 1e-5)
    return dice + F.binary_cross_entropy_with_logits(logits, t)

def largest_component(mask):
    from collections import deque
    lab = np.zeros(mask.shape, np.int32); best, best_n, cur = 0, 0, 0
    for idx in zip(*np.nonzero(mask)):
        if lab[idx]: continue
        cur += 1; n = 0; q = deque([idx]); lab[idx] = cur
        while q:
            p = q.popleft(); n += 1
            for d in range(3):
                for s in (-1, 1):
                    r = list(p); r[d] += s; r = tuple(r)
                    if 0 <= r[d] < mask.shape[d] and mask[r] and not lab[r]: lab[r] = cur; q.append(r)
        if n > best_n: best, best_n = cur, n
    return lab == best if best else mask

def dice(a, b):
    s = a.sum() + b.sum()
    return 1.0 if s == 0 else 2 * (a & b).sum() / s

def main():
    stacks = load_slices()
    train = [(prep(a, b, sx, sy)[:2]) for sid, sl in stacks.items() if sid not in test_ids for (_, a, b, sx, sy) in sl]
    print(f"train slices {len(train)}; test {test_ids}; width {width}; up {up_mode}; aug {aug_on} bias {bias_on}", flush=True)
    model = UNet(width).to(memory_format=torch.channels_last)
    print("params", sum(p.numel() for p in model.parameters()), flush=True)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    for ep in range(epochs):
        model.train(); order = list(range(len(train))); random.shuffle(order); tot = 0; t0 = time.time()
        for i in range(0, len(order), 8):
            batch = [augment(*train[j]) if aug_on else train[j] for j in order[i:i + 8]]
            x = torch.stack([b[0] for b in batch])[:, None].contiguous(memory_format=torch.channels_last)
            y = torch.stack([b[1] for b in batch])[:, None]
            loss = loss_fn(model(x), y)
            opt.zero_grad(); loss.backward(); opt.step(); tot += loss.item() * len(batch)
        print(f"epoch {ep}: loss {tot / len(train):.4f} {time.time() - t0:.1f}s", flush=True)
    model.eval(); res = {}
    with torch.no_grad():
        for sid in test_ids:
            probs, truth = [], []
            for (_, a, b, sx, sy) in stacks[sid]:
                img, _, geom = prep(a, None, sx, sy)
                p = torch.sigmoid(model(img[None, None].contiguous(memory_format=torch.channels_last)))[0, 0]
                probs.append(unprep(p, geom).numpy()); truth.append(b > 0.5)
            pr = np.stack(probs) > 0.5; tr = np.stack(truth)
            res[sid] = dict(raw=float(dice(pr, tr)), largest=float(dice(largest_component(pr), tr)), pred=int(pr.sum()), ref=int(tr.sum()))
            print(sid, res[sid], flush=True)
    os.makedirs(out, exist_ok=True)
    json.dump(res, open(f"{out}/result.json", "w"), indent=1)
    print("mean Dice, largest component:", round(float(np.mean([r["largest"] for r in res.values()])), 3))

main()
