# Sourced on the GPU device machine (see bench/gpu/prepare.sh): unpacks the Vulkan loader and Node and
# sets the paths so Dawn finds the NVIDIA Vulkan driver. Leaves /tmp/results/device.txt.
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
mkdir -p /tmp/pg && tar -C /tmp/pg -xJf .gpu-carry/node-bundle.tar.xz
export PATH="/tmp/pg/bin:$PATH" NODE_PATH=/tmp/pg/node_modules
export LD_LIBRARY_PATH="/usr/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}"
[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
ln -sfn /tmp/pg/node_modules node_modules 2>/dev/null || true
mkdir -p /tmp/results
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; date -u; } > /tmp/results/device.txt 2>&1
