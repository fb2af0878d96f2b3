#!/usr/bin/env bash
# Packs what a bare GPU machine (no npm, no registry) needs to run `npm run bench -- device` into .device/ (git-ignored,
# under the device tool's 64 MiB): node, the bundled benchmark, Dawn and onnxruntime-node's native parts, the Vulkan loader.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .device && mkdir -p .device
npx esbuild bench/device-main.ts --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --external:onnxruntime-node --outfile=.device/device.mjs --log-level=warning
xz -T0 -6 -c "$(readlink -f "$(command -v node)")" > .device/node.xz
tar -cJf .device/modules.tar.xz node_modules/webgpu/{package.json,index.js,dist/linux-x64} \
  node_modules/onnxruntime-node/{package.json,dist,lib,bin/napi-v6/linux/x64} node_modules/onnxruntime-common
(cd .device && apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null 2>&1 || echo "loaders not downloaded: the machine must have its own")
cp scripts/device-torch.py .device/
du -sh .device
