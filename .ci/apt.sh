# Sourced by the .ci scripts that install Debian packages for tests (chromium.sh, fonts.sh, xvfb.sh).
#
#   apt_install_or_skip NAME "what is skipped without them" PACKAGE...
#
# Installs the packages with apt-get, as root or through sudo without a password. On a machine where that is
# impossible (no apt-get, no root) it says so and returns 0: the tests needing them then skip, naming the
# reason. An apt-get that is there but fails (no network, a broken mirror) is an error. The lock timeout lets
# two of these scripts, or an unattended upgrade, take turns instead of failing.

apt_install_or_skip() {
    local name=$1 skipped=$2
    shift 2
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            echo "$name: WARNING: $* missing and cannot be installed (not root, no password-less sudo); $skipped" >&2
            return 0
        fi
    fi
    if ! command -v apt-get >/dev/null; then
        echo "$name: WARNING: $* missing and this machine has no apt-get; $skipped" >&2
        return 0
    fi
    echo "$name: installing $* with apt-get" >&2
    local start=$SECONDS
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@" >&2
    echo "$name: installed in $((SECONDS - start)) s" >&2
}
