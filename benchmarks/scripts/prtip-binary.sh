# The prtip binary a benchmark measures (sourced from the repository root):
#   bin=$(prtip_binary NAME) || exit 2
# prints $PRTIP resolved to an absolute path if it is set, else builds
# `cargo build --release --locked -p prtip` into ${CARGO_TARGET_DIR:-target}
# and prints that binary. Fails with "NAME: no binary at PATH" otherwise.
# shellcheck shell=bash
prtip_binary() {
    local bin
    if [ -n "${PRTIP:-}" ]; then
        bin=$(realpath "$PRTIP") || return 2
    else
        cargo build --release --locked -q -p prtip >&2 || return 2
        bin=$(realpath "${CARGO_TARGET_DIR:-target}/release/prtip") || return 2
    fi
    [ -x "$bin" ] || { echo "$1: no binary at $bin" >&2; return 2; }
    echo "$bin"
}
