#!/usr/bin/env bash
# Runs on the GPU machine from what scripts/device-pack.sh packed: installs it under /tmp/grid, then the benchmark and
# PyTorch's baselines on the same card.
set -uo pipefail
cd "$(dirname "$0")/.."
G=/tmp/grid && mkdir -p $G/bin
xz -dc .device/node.xz > $G/bin/node && chmod +x $G/bin/node
tar -xJf .device/modules.tar.xz -C $G
# The NVIDIA Vulkan ICD (libGLX_nvidia) needs the GL vendor-neutral loaders beside the Vulkan one; a bare image has none.
{ ldconfig -p | grep -q libvulkan.so.1 && ldconfig -p | grep -q libGLdispatch; } || { for deb in .device/*.deb; do dpkg -x "$deb" /; done; ldconfig; echo "installed the packed Vulkan and GL loaders"; }
icd=$(ls /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json 2>/dev/null | head -1)
[ -n "$icd" ] && export VK_DRIVER_FILES=${VK_DRIVER_FILES:-$icd}
echo "Vulkan driver: ${VK_DRIVER_FILES:-default loader search}"
nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader || true
cp .device/device.mjs $G/ && (cd $G && timeout "${BENCH_TIMEOUT:-300}" ./bin/node device.mjs)
[ "${BENCH_TORCH:-1}" = 0 ] || timeout 120 python3 .device/device-torch.py
