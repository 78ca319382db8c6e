#!/usr/bin/env bash
# Installs the Vulkan loader and Mesa's lavapipe (Vulkan on the CPU) from bookworm-backports,
# so Dawn's Vulkan backend finds an adapter on a machine without a GPU. Plain bookworm's Mesa 22
# lacks shaderUniform*ArrayDynamicIndexing, which Dawn requires; Mesa 25 from backports has it.
# Also Debian's Chromium, for the browser test (web/browser.test.ts: SwiftShader WebGPU, headless).
set -euo pipefail
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if [ -f /etc/apt/sources.list.d/debian.sources ] && ! [ -f /etc/apt/sources.list.d/backports.sources ]; then
  # Copy the machine's own bookworm source stanza, changing only the suite.
  awk 'BEGIN{RS="";ORS="\n\n"} /Suites:[^\n]*bookworm( |$|\n)/ && !/security/ {
         sub(/Suites:[^\n]*/, "Suites: bookworm-backports"); print; exit }' \
    /etc/apt/sources.list.d/debian.sources | $SUDO tee /etc/apt/sources.list.d/backports.sources >/dev/null
elif [ -f /etc/apt/sources.list ] && ! [ -f /etc/apt/sources.list.d/backports.list ]; then
  grep -E '^deb .* bookworm( |$)' /etc/apt/sources.list | head -1 \
    | sed -E 's/ bookworm( |$)/ bookworm-backports\1/' | $SUDO tee /etc/apt/sources.list.d/backports.list >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
# The sweep tests (sweeps/sweep-queue.test.ts) start their own redis-server on a free port and stop it.
$SUDO apt-get install -y -qq redis-server >/dev/null
$SUDO apt-get install -y -qq chromium >/dev/null
echo "system libraries: $(dpkg-query -W -f='${Package} ${Version}\n' mesa-vulkan-drivers libvulkan1 redis-server chromium | tr '\n' ';')"
