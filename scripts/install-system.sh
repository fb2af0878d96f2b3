#!/usr/bin/env bash
# System packages the grid needs on Debian 12 (bookworm), as root: Chromium for the browser tests, MariaDB for the
# store suite, Fashion-MNIST, and Mesa 25's lavapipe from bookworm-backports (Dawn rejects Debian 12's own Mesa 22).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' | $SUDO tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  chromium mariadb-server-core mariadb-client-core dataset-fashion-mnist \
  libegl1 libegl-mesa0 libgl1-mesa-dri >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
echo "system packages ready: $(chromium --version 2>/dev/null), $(mariadbd --version 2>/dev/null | cut -d' ' -f1-4)"
