# `builds` of crate-env.nix as Nix derivations (docs/build.md): for each build
# a dependencies layer (`deps`, built from the manifests, Cargo.lock and stub
# targets only) and the workspace layer on top of its `target/`.
{
  pkgs,
  lib,
  # The environment's toolchains (the same derivations as the shell's).
  toolchains,
  packages,
  # `export NAME=value` lines of the environment's variables (user `env` & co).
  exportScript,
  # `nixConfig` of crate-env.nix, validated (../config.nix); the Rust side
  # maps it to `--option`s (src/environment/nix_config.rs).
  nixConfig,
  # `builds` from crate-env.nix (merged over members, validated by
  # ./validate.nix through ../validate.nix).
  config,
  # What the Rust side computed (src/build): null when only `info` is wanted.
  args,
}:
let
  # Defaults for the fields a build leaves out (types checked by ./validate.nix).
  normalise = _name: given: {
    toolchain = given.toolchain or "stable";
    package = given.package or null;
    target = given.target or null;
    profile = given.profile or "release";
    features = given.features or [ ];
    noDefaultFeatures = given.noDefaultFeatures or false;
    buildStd = given.buildStd or [ ];
    check = given.check or false;
    postBuild = given.postBuild or "";
  };

  # `default` always exists: every binary of the workspace, release profile.
  settings = builtins.mapAttrs normalise ({ default = { }; } // config);

  # ./validate.nix already reported a missing nightly or rust-src.
  toolchainFor = _name: s: toolchains.${s.toolchain};

  # The profile's directory under target/ (cargo: dev → debug).
  profileDir =
    profile:
    if profile == "dev" || profile == "test" then
      "debug"
    else if profile == "bench" then
      "release"
    else
      profile;

  cargoFlags =
    s:
    [
      "--frozen"
      "--offline"
      "--profile"
      s.profile
    ]
    ++ (if s.package == null then [ "--workspace" ] else [ "-p" s.package ])
    ++ lib.optionals (s.target != null) [
      "--target"
      s.target
    ]
    ++ lib.optionals (s.features != [ ]) [
      "--features"
      (lib.concatStringsSep "," s.features)
    ]
    ++ lib.optional s.noDefaultFeatures "--no-default-features"
    ++ lib.optional (s.buildStd != [ ]) "-Zbuild-std=${lib.concatStringsSep "," s.buildStd}";

  sources = import ./source.nix { inherit lib args; };

  vendorFor =
    s:
    import ./vendor.nix {
      inherit lib;
      inherit (pkgs) fetchurl stdenvNoCC;
      inherit (args) crateUrl;
    } ([ (builtins.readFile (sources.root + "/Cargo.lock")) ] ++ lib.optional (s.buildStd != [ ]) args.stdLock);

  # Attributes both layers share: what the dependency layer is keyed by.
  common =
    name: s:
    let
      vendored = vendorFor s;
    in
    {
      nativeBuildInputs = [ (toolchainFor name s) ] ++ packages;
      builder = ./cargo-build.sh;
      inherit (vendored) cargoConfig;
      cargoFlags = lib.escapeShellArgs (cargoFlags s);
      cargoProfileDir = "${lib.optionalString (s.target != null) "${s.target}/"}${profileDir s.profile}";
      crateEnvExports = exportScript;
      doCheck = s.check;
      passAsFile = [
        "cargoConfig"
        "crateEnvExports"
      ];
      # cargo-auditable and other wrappers: none; cargo is the toolchain's own.
      passthru = {
        inherit (vendored) vendor crates;
        settings = s;
      };
    };

  layers =
    name: s:
    let
      shared = common name s;
      deps = pkgs.stdenv.mkDerivation (
        shared
        // {
          name = "crate-env-build-${name}-deps";
          src = sources.manifests;
          crateEnvLayer = "deps";
          stubLibs = lib.concatStringsSep "\n" args.stubs.lib;
          stubMains = lib.concatStringsSep "\n" args.stubs.main;
          # Lines `STORE-FILE PATH`: each Cargo.toml without descriptive keys.
          stubManifests = lib.concatStrings (
            lib.mapAttrsToList (
              path: text: "${builtins.toFile "Cargo.toml" text} ${path}\n"
            ) args.stubs.manifests
          );
        }
      );
    in
    pkgs.stdenv.mkDerivation (
      shared
      // {
        name = "crate-env-build-${name}";
        src = sources.full;
        crateEnvLayer = "workspace";
        cargoDeps = deps;
        # `find -regex` for the files of the workspace's own libraries in deps/.
        workspaceLibRegex = ".*/deps/lib\\(${lib.concatStringsSep "\\|" args.stubs.libNames}\\)-[^/]*";
        crateEnvPostBuild = s.postBuild;
        passthru = shared.passthru // {
          inherit deps;
          # One root for what the output is built from: the dependency layer
          # and every fetched `.crate` (their closures hold the vendor dir).
          inputs = pkgs.stdenvNoCC.mkDerivation {
            name = "crate-env-build-${name}-inputs";
            inherit deps;
            inherit (shared.passthru) crates;
            buildCommand = ''
              mkdir -p "$out"
              ln -s "$deps" "$out/deps"
              ln -s "$crates" "$out/crates"
            '';
          };
        };
      }
    );
in
{
  # For `crate-env build` to choose and check names before building anything;
  # `nixConfig` for every Nix command of the build.
  info = {
    names = builtins.attrNames settings;
    builds = settings;
    inherit nixConfig;
  };

  inherit toolchains;

  drv =
    if args == null then
      throw "crate-env: builds.drv needs the buildArgs argument"
    else
      builtins.mapAttrs layers settings;
}
