#!/usr/bin/env bash
# Installs what hotrow's integration tests need, and nothing when it is all
# there already (then it takes well under a second):
#   - PostgreSQL 15 server binaries (/usr/lib/postgresql/15/bin, or $HOTROW_PG_BIN)
#   - node + npm
#   - dynalite and playwright-core, pinned in tools/package.json + tools/package-lock.json
#   - Chromium (Debian's; playwright-core drives it and never downloads a browser)
#   - promtool (Debian's prometheus package) and buildah, for deploy/'s checks
# Installing system packages needs root (apt-get); without root it says what
# to install and exits non-zero (for promtool and buildah only under CI=true:
# elsewhere the deploy tests that need them skip and say so).
# terraform is not in Debian's, npm's or the Go proxy's packages: when it is
# missing, make lint skips terraform fmt -check and says where to get it;
# deploy's TestTerraformFormatted checks the same layout with hclwrite.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pg_bin="${HOTROW_PG_BIN:-/usr/lib/postgresql/15/bin}"
is_root=false
[ "$(id -u)" -eq 0 ] && is_root=true
apt_updated=false

say() { printf 'test-deps: %s\n' "$*"; }
die() { printf 'test-deps: %s\n' "$*" >&2; exit 1; }

apt_install() {
	if ! $apt_updated; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		apt_updated=true
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# PostgreSQL 15 server.
if [ -x "$pg_bin/initdb" ] && [ -x "$pg_bin/postgres" ]; then
	say "postgresql-15: found $("$pg_bin/postgres" --version) in $pg_bin"
elif $is_root && [ -z "${HOTROW_PG_BIN:-}" ]; then
	apt_install postgresql-15
	[ -x "$pg_bin/initdb" ] || die "postgresql-15: installed, but $pg_bin/initdb is still missing"
	say "postgresql-15: installed $("$pg_bin/postgres" --version)"
elif [ -n "${HOTROW_PG_BIN:-}" ]; then
	die "postgresql-15: HOTROW_PG_BIN=$pg_bin has no executable initdb and postgres; fix it or unset it"
else
	die "postgresql-15: missing ($pg_bin/initdb); install it as root: apt-get install postgresql-15"
fi

# node + npm.
if command -v node >/dev/null && command -v npm >/dev/null; then
	say "node: found $(node --version), npm $(npm --version 2>/dev/null)"
elif $is_root; then
	apt_install nodejs npm
	say "node: installed $(node --version), npm $(npm --version 2>/dev/null)"
else
	die "node: missing node and/or npm; install them as root: apt-get install nodejs npm"
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "node: dynalite 4 needs node >= 20, found $(node --version)"

# dynalite and playwright-core, from the committed lock file.
tools="$repo_root/tools"
installed="$tools/node_modules/dynalite/package.json"
playwright="$tools/node_modules/playwright-core/package.json"
if [ -f "$installed" ] && [ -f "$playwright" ] && [ ! "$tools/package-lock.json" -nt "$installed" ] && [ ! "$tools/package.json" -nt "$installed" ]; then
	say "dynalite: found $(node -p "require('$installed').version"), playwright-core $(node -p "require('$playwright').version") in tools/node_modules"
else
	# PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: playwright-core downloads nothing by
	# itself, but say so in case a later version grows an install step.
	(cd "$tools" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
	# npm ci keeps the packages' own mtimes: mark the install as newer than the lock.
	touch "$installed"
	say "dynalite: installed $(node -p "require('$installed').version"), playwright-core $(node -p "require('$playwright').version") into tools/node_modules (npm ci)"
fi

# Chromium for the browser tests (HOTROW_CHROMIUM overrides the path).
chromium="${HOTROW_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then
	say "chromium: found $("$chromium" --version 2>/dev/null | head -n1) at $chromium"
elif $is_root && [ -z "${HOTROW_CHROMIUM:-}" ]; then
	apt_install chromium
	[ -x "$chromium" ] || die "chromium: installed, but $chromium is still missing"
	say "chromium: installed $("$chromium" --version 2>/dev/null | head -n1)"
elif [ -n "${HOTROW_CHROMIUM:-}" ]; then
	die "chromium: HOTROW_CHROMIUM=$chromium is not executable; fix it or unset it"
else
	die "chromium: missing ($chromium); install it as root: apt-get install chromium"
fi

# promtool (Debian ships it in the prometheus package) and buildah.
optional_tool() { # tool package why
	local tool=$1 pkg=$2 why=$3
	if command -v "$tool" >/dev/null; then
		say "$tool: found $(command -v "$tool")"
	elif $is_root; then
		apt_install "$pkg"
		command -v "$tool" >/dev/null || die "$tool: installed $pkg, but $tool is still missing"
		say "$tool: installed ($pkg)"
		if [ "$pkg" = prometheus ] && [ -d /run/systemd/system ]; then
			say "note: Debian's prometheus package also enables a Prometheus server on :9090; 'systemctl disable --now prometheus' if you do not want it"
		fi
	elif [ "${CI:-}" = true ]; then
		die "$tool: missing ($why); install it as root: apt-get install $pkg"
	else
		say "$tool: missing ($why): those tests will skip; install it as root: apt-get install $pkg"
	fi
}
optional_tool promtool prometheus "promtool check/test rules on deploy/prometheus"
optional_tool buildah buildah "building deploy/Dockerfile's final stage"
if command -v terraform >/dev/null; then
	say "terraform: found $(command -v terraform)"
else
	say "terraform: missing (no registry here has it): make lint skips terraform fmt -check; get it from https://developer.hashicorp.com/terraform/install"
fi
