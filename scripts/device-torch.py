"""Same-card baselines for `npm run bench -- device`: PyTorch's fp32 and f16 matmul and the MLP training step."""
import time

import torch

dev = torch.device("cuda")
torch.backends.cuda.matmul.allow_tf32 = False  # plain fp32, as our WGSL kernels compute
print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}")


def rate(fn, seconds=1.0):
    fn()
    torch.cuda.synchronize()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    torch.cuda.synchronize()
    return n / (time.perf_counter() - t0)


for n in (1024, 4096):
    for dtype in (torch.float32, torch.float16):
        a = torch.randn(n, n, device=dev, dtype=dtype)
        b = torch.randn(n, n, device=dev, dtype=dtype)
        print(f"torch matmul {str(dtype)[6:]} {n}^3: {2 * n**3 * rate(lambda: a @ b) / 1e9:.0f} GFLOP/s")

model = torch.nn.Sequential(
    torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)
).to(dev)
for batch in (256, 4096):
    x_host = torch.rand(batch, 784).pin_memory()
    y_host = torch.randint(0, 10, (batch,)).pin_memory()

    def step(transfers):
        x, y = (x_host.to(dev, non_blocking=True), y_host.to(dev, non_blocking=True)) if transfers else (xd, yd)
        model.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        if transfers:
            [p.grad.to("cpu") for p in model.parameters()]

    xd, yd = x_host.to(dev), y_host.to(dev)
    print(
        f"torch MLP 784-256-128-10 batch {batch} step samples/s: batch up + gradients back {batch * rate(lambda: step(True)):.0f}"
        f" | resident {batch * rate(lambda: step(False)):.0f}"
    )


def block(cin, cout, stride):
    body = torch.nn.Sequential(
        torch.nn.Conv2d(cin, cout, 3, stride, 1), torch.nn.BatchNorm2d(cout), torch.nn.ReLU(),
        torch.nn.Conv2d(cout, cout, 3, 1, 1), torch.nn.BatchNorm2d(cout),
    )
    short = torch.nn.Sequential(torch.nn.Conv2d(cin, cout, 1, stride), torch.nn.BatchNorm2d(cout)) if stride != 1 or cin != cout else None

    class Residual(torch.nn.Module):
        def forward(self, x):
            return torch.relu(body(x) + (short(x) if short else x))

    r = Residual()
    r.body, r.short = body, short
    return r


# The same presets as bench/device-steps.ts: ResNet-20 (widths 16/32/64, 3 blocks) and nanoGPT's "CPU" GPT.
layers = [torch.nn.Conv2d(3, 16, 3, 1, 1), torch.nn.BatchNorm2d(16), torch.nn.ReLU()]
cin = 16
for stage, width in enumerate((16, 32, 64)):
    for b in range(3):
        layers.append(block(cin, width, 2 if stage > 0 and b == 0 else 1))
        cin = width
resnet = torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(64, 10)).to(dev)


class Gpt(torch.nn.Module):
    def __init__(self, vocab=96, block=64, n_layer=4, n_head=4, n_embd=128):
        super().__init__()
        self.tok, self.pos = torch.nn.Embedding(vocab, n_embd), torch.nn.Embedding(block, n_embd)
        layer = torch.nn.TransformerEncoderLayer(n_embd, n_head, 4 * n_embd, 0.0, "gelu", batch_first=True, norm_first=True)
        self.blocks = torch.nn.TransformerEncoder(layer, n_layer, enable_nested_tensor=False)
        self.norm, self.head = torch.nn.LayerNorm(n_embd), torch.nn.Linear(n_embd, vocab)
        self.register_buffer("mask", torch.nn.Transformer.generate_square_subsequent_mask(block))

    def forward(self, idx):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))
        return self.head(self.norm(self.blocks(x, mask=self.mask, is_causal=True)))


gpt = Gpt().to(dev)
for name, model, batches, make in (
    ("ResNet-20 3x32x32 samples/s", resnet, (32, 128), lambda n: (torch.rand(n, 3, 32, 32), torch.randint(0, 10, (n,)))),
    ("GPT 4x128 block 64 tokens/s", gpt, (12, 64), lambda n: (torch.randint(0, 96, (n, 64)), torch.randint(0, 96, (n, 64)))),
):
    per = 64 if "GPT" in name else 1
    for batch in batches:
        x_host, y_host = (t.pin_memory() for t in make(batch))

        def step():
            x, y = x_host.to(dev, non_blocking=True), y_host.to(dev, non_blocking=True)
            model.zero_grad(set_to_none=True)
            out = model(x)
            torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1)).backward()
            [p.grad.to("cpu") for p in model.parameters()]

        print(f"torch {name} batch {batch} (batch up + gradients back): {batch * per * rate(step):.0f}")
