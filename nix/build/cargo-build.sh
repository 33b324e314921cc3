# shellcheck shell=bash
# shellcheck disable=SC2154 # inputs come from the derivation (nix/build/default.nix)
# Builder of both layers of a crate-env build (docs/build.md):
#   crateEnvLayer=deps       manifests + stub targets: compiles the dependencies,
#                            installs target/ as $out/target
#   crateEnvLayer=workspace  the project's sources on top of the deps layer's
#                            target/ ($cargoDeps): compiles the workspace crates,
#                            installs binaries to $out/bin and libraries to $out/lib
# cargo runs --frozen --offline against the vendored sources; CARGO_HOME lives
# inside the build.

# shellcheck disable=SC1091
source "$stdenv/setup"

# The environment's variables (user `env` & co), after the setup hooks.
# shellcheck disable=SC1090
source "$crateEnvExportsPath"

export CARGO_HOME="$NIX_BUILD_TOP/cargo-home"
export CARGO_TARGET_DIR="$NIX_BUILD_TOP/target"
export CARGO_TERM_COLOR=never
export CARGO_TERM_PROGRESS_WHEN=never

# The manifests (without descriptive keys) and one stub per target root, so
# cargo discovers the same targets and builds every dependency while knowing
# nothing of the workspace's code.
writeStubs() {
    local file path
    while read -r file path; do
        [[ -n "$file" ]] || continue
        mkdir -p "$(dirname "$path")"
        cp "$file" "$path"
        chmod u+w "$path"
    done <<<"$stubManifests"
    while IFS= read -r file; do
        [[ -n "$file" ]] || continue
        mkdir -p "$(dirname "$file")"
        : >"$file"
    done <<<"$stubLibs"
    while IFS= read -r file; do
        [[ -n "$file" ]] || continue
        mkdir -p "$(dirname "$file")"
        echo 'fn main() {}' >"$file"
    done <<<"$stubMains"
}

# The deps layer's target/ with the store's timestamps (1 s after the epoch),
# under sources touched now: cargo rebuilds every workspace crate and finds
# every dependency fresh. What cargo may rewrite is copied; the dependencies'
# libraries (only ever read) are symbolic links into the deps layer.
restoreTarget() {
    local from="$cargoDeps/target" to="$CARGO_TARGET_DIR"
    echo "reusing dependencies from $cargoDeps"
    mkdir -p "$to"
    (cd "$from" && find . -type f ! \( -path '*/deps/lib*' ! -regex "$workspaceLibRegex" \) -print0 |
        xargs -0 -r cp --parents --preserve=timestamps -t "$to")
    (cd "$from" && find . -type d -name deps -print0) | while IFS= read -r -d '' dir; do
        mkdir -p "$to/$dir"
        (cd "$to/$dir" && find "$from/$dir" -maxdepth 1 -type f -name 'lib*' ! -regex "$workspaceLibRegex" -print0 |
            xargs -0 -r cp -s -t .)
    done
    chmod -R u+w "$to"
    find . -type f -exec touch {} +
}

configurePhase() {
    runHook preConfigure
    mkdir -p "$CARGO_HOME"
    cp "$cargoConfigPath" "$CARGO_HOME/config.toml"
    if [[ "$crateEnvLayer" == deps ]]; then
        writeStubs
    else
        restoreTarget
    fi
    runHook postConfigure
}

buildPhase() {
    runHook preBuild
    # shellcheck disable=SC2086 # cargoFlags is shell-quoted by the library
    eval "cargo build $cargoFlags"
    if [[ "$crateEnvLayer" == deps && -n "${doCheck:-}" ]]; then
        eval "cargo test --no-run $cargoFlags"
    fi
    runHook postBuild
}

checkPhase() {
    runHook preCheck
    if [[ "$crateEnvLayer" == workspace ]]; then
        eval "cargo test $cargoFlags"
    fi
    runHook postCheck
}

installDeps() {
    mkdir -p "$out"
    mv "$CARGO_TARGET_DIR" "$out/target"
}

installWorkspace() {
    local dir="$CARGO_TARGET_DIR/$cargoProfileDir" f
    mkdir -p "$out/bin" "$out/lib"
    for f in "$dir"/*; do
        [[ -f "$f" ]] || continue
        case "$f" in
            *.so | *.a | *.wasm | *.dylib) cp "$f" "$out/lib/" ;;
            *.d | *.rlib | *.rmeta | *.pdb) ;;
            *) if [[ -x "$f" ]]; then cp "$f" "$out/bin/"; fi ;;
        esac
    done
    if [[ -n "${crateEnvPostBuild:-}" ]]; then
        echo "running postBuild"
        eval "$crateEnvPostBuild"
    fi
    rmdir --ignore-fail-on-non-empty "$out/bin" "$out/lib"
}

installPhase() {
    runHook preInstall
    if [[ "$crateEnvLayer" == deps ]]; then
        installDeps
    else
        installWorkspace
    fi
    runHook postInstall
}

dontFixup=1
genericBuild
