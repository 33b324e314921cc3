# `builds` of crate-env.nix as Nix derivations (docs/build.md): for each build
# a dependencies layer (`deps`, built from the manifests, Cargo.lock and stub
# targets only) and the workspace layer on top of its `target/`.
{
  pkgs,
  lib,
  # The environment's toolchains (the same derivations as the shell's).
  toolchains,
  # Components each toolchain was built with, to explain what buildStd lacks.
  components,
  packages,
  # `export NAME=value` lines of the environment's variables (user `env` & co).
  exportScript,
  # `nixConfig` from crate-env.nix: caches and remote builders for the builds.
  nixConfig,
  # `builds` from crate-env.nix (merged over members).
  config,
  # What the Rust side computed (src/build): null when only `info` is wanted.
  args,
}:
let
  knownFields = [
    "toolchain"
    "package"
    "target"
    "profile"
    "features"
    "noDefaultFeatures"
    "buildStd"
    "check"
    "postBuild"
  ];

  isStringList = v: builtins.isList v && builtins.all builtins.isString v;
  nullOrString = v: v == null || builtins.isString v;

  normalise =
    name: given:
    let
      unknown = lib.subtractLists knownFields (builtins.attrNames given);
      field =
        f: default: ok: what:
        let
          value = given.${f} or default;
        in
        if ok value then value else throw "crate-env.nix: builds.${name}.${f} must be ${what}";
    in
    if builtins.match "[A-Za-z0-9_][A-Za-z0-9_-]*" name == null then
      throw "crate-env.nix: builds.${name}: a build name is letters, digits, `_` and `-`"
    else if !builtins.isAttrs given then
      throw "crate-env.nix: builds.${name} must be an attribute set"
    else if unknown != [ ] then
      throw "crate-env.nix: builds.${name}: unknown field(s) ${lib.concatStringsSep ", " unknown}; known fields: ${lib.concatStringsSep ", " knownFields}"
    else
      {
        toolchain = field "toolchain" "stable" (
          v: lib.elem v [
            "stable"
            "nightly"
          ]
        ) "\"stable\" or \"nightly\"";
        package = field "package" null nullOrString "a package name (cargo -p)";
        target = field "target" null nullOrString "a target triple";
        profile = field "profile" "release" builtins.isString "a cargo profile name";
        features = field "features" [ ] isStringList "a list of feature names";
        noDefaultFeatures = field "noDefaultFeatures" false builtins.isBool "true or false";
        buildStd = field "buildStd" [ ] isStringList "a list of crates such as [ \"std\" \"panic_abort\" ]";
        check = field "check" false builtins.isBool "true or false";
        postBuild = field "postBuild" "" builtins.isString "a string of shell code";
      };

  # `default` always exists: every binary of the workspace, release profile.
  settings = builtins.mapAttrs normalise ({ default = { }; } // config);

  toolchainFor =
    name: s:
    let
      toolchain = toolchains.${s.toolchain};
    in
    if toolchain == null then
      throw "crate-env.nix: builds.${name} uses toolchain = \"nightly\", but crate-env.nix sets no nightly"
    else if s.buildStd != [ ] && !(lib.elem "rust-src" components.${s.toolchain}) then
      throw "crate-env.nix: builds.${name}.buildStd needs the ${s.toolchain} toolchain's rust-src: add \"rust-src\" to ${
        if s.toolchain == "stable" then "rust" else "nightly"
      }.components"
    else if s.buildStd != [ ] && s.target == null then
      throw "crate-env.nix: builds.${name}.buildStd needs a target (cargo -Z build-std requires --target)"
    else
      toolchain;

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
  # For `crate-env build` to choose and check names before building anything.
  # `nixOptions`: `--option NAME VALUE` pairs for every Nix command of the build.
  info = {
    names = builtins.attrNames settings;
    # Forcing the toolchain reports a missing nightly or rust-src here, before
    # crate-env writes anything.
    builds = builtins.mapAttrs (name: s: builtins.seq (toolchainFor name s) s) settings;
    nixOptions =
      let
        list = name: nixConfig.${name} or [ ];
      in
      lib.optional (list "substituters" != [ ]) [
        "extra-substituters"
        (lib.concatStringsSep " " (list "substituters"))
      ]
      ++ lib.optional (list "trusted-public-keys" != [ ]) [
        "extra-trusted-public-keys"
        (lib.concatStringsSep " " (list "trusted-public-keys"))
      ]
      ++ lib.optional (list "builders" != [ ]) [
        "builders"
        (lib.concatStringsSep " ; " (list "builders"))
      ];
  };

  inherit toolchains;

  drv = if args == null then throw "crate-env: builds.drv needs the buildArgs argument" else builtins.mapAttrs layers settings;
}
