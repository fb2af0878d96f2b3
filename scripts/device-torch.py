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
