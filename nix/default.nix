# crate-env's Nix library. Embedded in the crate-env binary and extracted to
# .crate-env/lib/<hash>/ before use; see docs/architecture.md for the interface.
#
# All arguments are strings (`--argstr`) so every Nix from 2.8 on can pass them.
# This entry file fetches the pinned inputs and wires the parts together:
# ./config.nix (crate-env.nix, merged and validated), ./toolchains.nix (the
# pinned stable and nightly), ./capture.nix (the environment), ./request.nix
# (what lock-time resolution needs), ./build (`crate-env build`, docs/build.md).
{
  # Text of crate-env.lock (JSON). `toolchains` fields may be null while locking.
  lock,
  # JSON list of absolute paths to crate-env.nix files, outermost first.
  configFiles,
  # Nix system double, e.g. "x86_64-linux".
  system,
  # `crate-env build` only: path of a JSON file with the project's files, stub
  # targets, rust-src's Cargo.lock and the crate download URL (src/build).
  buildArgs ? "",
}:
let
  lockData = builtins.fromJSON lock;

  # Fetch exactly what the lock names: nothing is resolved here.
  fetchInput =
    name:
    let
      input =
        lockData.inputs.${name} or (throw "crate-env.lock: input '${name}' is missing; run `crate-env lock`");
    in
    if input.type == "tarball" then
      builtins.fetchTarball {
        inherit (input) url;
        sha256 = input.narHash;
      }
    else if input.type == "git" then
      (builtins.fetchGit (
        {
          inherit (input) url rev narHash;
        }
        // (if input.ref or null != null then { inherit (input) ref; } else { })
      )).outPath
    else
      throw "crate-env.lock: input '${name}' has unknown type '${input.type}' (expected tarball or git)";

  sources = {
    nixpkgs = fetchInput "nixpkgs";
    rust-overlay = fetchInput "rust-overlay";
  };

  # The pinned nixpkgs with the pinned rust-overlay applied.
  pkgs = import sources.nixpkgs {
    inherit system;
    overlays = [ (import sources.rust-overlay) ];
  };

  # crate-env.nix, merged and validated; `config` is the merged file as written.
  settings = import ./config.nix { inherit pkgs system configFiles; };
  inherit (settings) config packages;

  # The user's `env`, validated (name → string).
  userEnv = settings.env;

  toolchains = import ./toolchains.nix {
    inherit pkgs settings;
    locked = lockData.toolchains or { };
  };
  inherit (toolchains) stable nightly;

  env = import ./capture.nix {
    inherit
      pkgs
      stable
      nightly
      packages
      userEnv
      sources
      ;
    inherit (settings) coverage shellHook;
  };
in
{
  inherit env;
  inherit (settings) nixConfig;

  # `crate-env build` (./build, docs/build.md): `builds.info` (names, settings,
  # nixConfig), `builds.toolchains.<stable|nightly>`, `builds.drv.<NAME>` (with
  # `.inputs`, `.deps`, `.vendor`, `.crates`).
  builds = import ./build {
    inherit pkgs packages;
    inherit (pkgs) lib;
    toolchains = { inherit stable nightly; };
    inherit (env) exportScript;
    inherit (settings) nixConfig;
    config = config.builds or { };
    args = if buildArgs == "" then null else builtins.fromJSON (builtins.readFile (/. + buildArgs));
  };
  request = import ./request.nix { inherit pkgs settings; };
}
