# crate-env's Nix library. Embedded in the crate-env binary and extracted to
# .crate-env/lib/<hash>/ before use; see docs/architecture.md for the interface.
#
# All arguments are strings (`--argstr`) so every Nix from 2.8 on can pass them.
{
  # Text of crate-env.lock (JSON). `toolchains` fields may be null while locking.
  lock,
  # JSON list of absolute paths to crate-env.nix files, outermost first.
  configFiles,
  # Nix system double, e.g. "x86_64-linux".
  system,
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

  pkgs = import sources.nixpkgs {
    inherit system;
    overlays = [ (import sources.rust-overlay) ];
  };
  inherit (pkgs) lib;

  # Small helpers from builtins, so the library needs from nixpkgs only what
  # docs/nix-surface.md lists (mkShell, stdenv.hostPlatform, rust-bin).
  isDerivation = x: builtins.isAttrs x && (x.type or null) == "derivation";
  optional = cond: x: if cond then [ x ] else [ ];
  optionalAttrs = cond: attrs: if cond then attrs else { };
  unique = builtins.foldl' (acc: x: if builtins.elem x acc then acc else acc ++ [ x ]) [ ];
  shellQuote = s: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] s + "'";
  mapAttrsToList = f: attrs: map (n: f n attrs.${n}) (builtins.attrNames attrs);

  # --- crate-env.nix -------------------------------------------------------

  knownFields = [
    "rust"
    "coverage"
    "nightly"
    "packages"
    "env"
    "shellHook"
    "nixConfig"
  ];

  # callPackage-style: pass only what a function with formals asks for, so
  # `{ pkgs }:` without an ellipsis works too.
  callConfig =
    file:
    let
      value = import (/. + file);
      args = {
        inherit pkgs lib system;
        inherit (pkgs) rust-bin;
      };
      formals = builtins.functionArgs value;
      result =
        if !builtins.isFunction value then
          value
        else if formals == { } then
          value args
        else
          value (builtins.intersectAttrs formals args);
      unknown = builtins.filter (n: !(builtins.elem n knownFields)) (builtins.attrNames result);
    in
    if !builtins.isAttrs result then
      throw "${file}: must evaluate to an attribute set (or a function returning one)"
    else if unknown != [ ] then
      throw "${file}: unknown field(s) ${builtins.concatStringsSep ", " unknown}; known fields: ${builtins.concatStringsSep ", " knownFields}"
    else
      result;

  # A member's crate-env.nix overrides its parent's field by field: packages and
  # env merge (child wins on a name), every other field is replaced.
  mergeConfigs =
    parent: child:
    parent
    // child
    // {
      packages = (parent.packages or [ ]) ++ (child.packages or [ ]);
      env = (parent.env or { }) // (child.env or { });
    };

  config = builtins.foldl' mergeConfigs { } (map callConfig (builtins.fromJSON configFiles));

  expect =
    what: check: value:
    if check value then value else throw "crate-env.nix: ${what}";

  stringList =
    what: value:
    expect "${what} must be a list of strings" (
      v: builtins.isList v && builtins.all builtins.isString v
    ) value;

  rustConfig =
    let
      given = config.rust or { };
      merged = {
        channel = "stable";
        profile = "default";
        components = [ ];
        targets = [ ];
      }
      // given;
    in
    {
      channel = expect "rust.channel must be a string such as \"1.75.0\"" builtins.isString merged.channel;
      profile = expect "rust.profile must be \"minimal\" or \"default\"" (
        p: builtins.elem p [
          "minimal"
          "default"
        ]
      ) merged.profile;
      components = stringList "rust.components" merged.components;
      targets = stringList "rust.targets" merged.targets;
    };

  nightlyConfig =
    let
      given = config.nightly or null;
      merged = {
        profile = "default";
        components = [ ];
        targets = [ ];
      }
      // given;
    in
    if given == null then
      null
    else
      {
        date = expect "nightly.date must be a string such as \"2023-11-09\"" builtins.isString (
          given.date or (throw "crate-env.nix: nightly.date is required when nightly is set")
        );
        profile = expect "nightly.profile must be \"minimal\" or \"default\"" (
          p: builtins.elem p [
            "minimal"
            "default"
          ]
        ) merged.profile;
        components = stringList "nightly.components" merged.components;
        targets = stringList "nightly.targets" merged.targets;
      };

  coverage = expect "coverage must be true or false" builtins.isBool (config.coverage or false);

  packages = expect "packages must be a list of derivations" (
    ps: builtins.isList ps && builtins.all isDerivation ps
  ) (config.packages or [ ]);

  shellHook = expect "shellHook must be a string" builtins.isString (config.shellHook or "");

  validName = name: builtins.match "[A-Za-z_][A-Za-z0-9_]*" name != null;

  envValue =
    name: value:
    if builtins.isString value || builtins.isPath value || builtins.isInt value || isDerivation value then
      toString value
    else
      throw "crate-env.nix: env.${name} must be a string, number, path or derivation";

  userEnv = builtins.mapAttrs (
    name: value:
    if validName name then
      envValue name value
    else
      throw "crate-env.nix: env.${name}: not a valid environment variable name"
  ) (config.env or { });

  # --- toolchains -----------------------------------------------------------

  lockedOr =
    what: value:
    if value == null then
      throw "crate-env.lock has no resolved ${what}; run `crate-env lock`"
    else
      value;

  toolchains = lockData.toolchains or { };

  stableVersion = lockedOr "stable toolchain" (toolchains.stable or null);

  # rustup's name for the coverage tools; also accepted as "llvm-tools" from 1.67 on.
  coverageComponent = "llvm-tools-preview";

  # Names the missing piece: a version the pinned overlay lacks means a stale
  # lock; a profile it lacks means a broken overlay, not a stale lock.
  toolchainProfile =
    channel: name: profile:
    let
      versions = pkgs.rust-bin.${channel};
      toolchain =
        versions.${name}
          or (throw "rust-overlay has no ${channel} ${name}; run `crate-env lock` to re-resolve");
    in
    toolchain.${profile}
      or (throw "rust-overlay's ${channel} ${name} has no profile '${profile}' (it has: ${
        builtins.concatStringsSep ", " (builtins.filter (n: builtins.substring 0 1 n != "_") (builtins.attrNames toolchain))
      })");

  stable =
    (toolchainProfile "stable" stableVersion rustConfig.profile).override
      {
        extensions = unique (rustConfig.components ++ optional coverage coverageComponent);
        inherit (rustConfig) targets;
      };

  nightly =
    if nightlyConfig == null then
      null
    else
      let
        date = lockedOr "nightly date" (toolchains.nightly or null);
      in
      (toolchainProfile "nightly" date nightlyConfig.profile).override
        {
          extensions = nightlyConfig.components;
          inherit (nightlyConfig) targets;
        };

  hostTriple = pkgs.stdenv.hostPlatform.rust.rustcTarget;
  llvmToolsBin = "${stable}/lib/rustlib/${hostTriple}/bin";

  # Exported after the setup hooks ran, so these win over anything a hook set.
  exports =
    optionalAttrs coverage {
      LLVM_COV = "${llvmToolsBin}/llvm-cov";
      LLVM_PROFDATA = "${llvmToolsBin}/llvm-profdata";
    }
    // optionalAttrs (nightly != null) { CRATE_ENV_NIGHTLY = "${nightly}"; }
    // userEnv;

  exportScript = builtins.concatStringsSep "" (
    mapAttrsToList (name: value: "export ${name}=${shellQuote value}\n") exports
  );

  # Written into env.json as is; string context makes every path a build input
  # and the output's references keep them alive under one GC root.
  meta = {
    stable = "${stable}";
    nightly = if nightly == null then null else "${nightly}";
    # Where the user's packages keep their binaries: each gets a proxy in .crate-env/bin.
    packages = map (p: "${p.bin or p.out or p}") packages;
    sources = {
      nixpkgs = "${sources.nixpkgs}";
      rust-overlay = "${sources.rust-overlay}";
    };
    inherit shellHook;
  };

  shellArgs = {
    name = "crate-env";
    packages = [ stable ] ++ packages;
  };

  captureArgs = shellArgs // {
    buildCommand = builtins.readFile ./capture-env.sh;
    crateEnvExports = exportScript;
    crateEnvKeep = builtins.concatStringsSep " " (builtins.attrNames exports);
    crateEnvMeta = builtins.toJSON meta;
  };

  # Derivation attributes reach the builder as variables; they describe the
  # build, not the environment, so capture-env.sh drops them.
  captureDrop = builtins.concatStringsSep " " (
    builtins.attrNames (pkgs.mkShell (captureArgs // { crateEnvDrop = ""; })).drvAttrs
  );

  env = pkgs.mkShell (captureArgs // { crateEnvDrop = captureDrop; });
in
{
  inherit env;

  # Binary caches for building the environment (docs/ci.md): crate-env passes
  # them to nix-build as `--option substituters …` / `trusted-public-keys …`.
  nixConfig =
    let
      given = expect "nixConfig must be an attribute set" builtins.isAttrs (config.nixConfig or { });
      known = [
        "substituters"
        "trusted-public-keys"
      ];
      unknown = builtins.filter (n: !(builtins.elem n known)) (builtins.attrNames given);
    in
    if unknown != [ ] then
      throw "crate-env.nix: unknown nixConfig field(s) ${builtins.concatStringsSep ", " unknown}; known: substituters, trusted-public-keys"
    else
      {
        substituters = stringList "nixConfig.substituters" (given.substituters or [ ]);
        trusted-public-keys = stringList "nixConfig.trusted-public-keys" (
          given.trusted-public-keys or [ ]
        );
      };

  # What lock-time resolution needs (src/resolve.rs, docs/resolution.md): all
  # toolchain names, and the release date, components and targets of the
  # candidates only, so a real rust-overlay with hundreds of nightlies is not
  # evaluated toolchain by toolchain. The candidates are a superset of what
  # the Rust side may pick; it applies the rules.
  request =
    let
      names = channel: builtins.filter (v: v != "latest") (builtins.attrNames pkgs.rust-bin.${channel});
      stables = names "stable";
      nightlies = names "nightly";
      host = pkgs.stdenv.hostPlatform.rust.rustcTarget;
      # `_manifest.date` is the channel manifest's date: a stable's release date.
      describe = toolchain: {
        date = toolchain._manifest.date or null;
        components = builtins.attrNames (toolchain._components.${host} or { });
        targets = builtins.attrNames (toolchain._components or { });
      };
      describeAll =
        channel: list:
        builtins.listToAttrs (
          map (name: {
            inherit name;
            value = describe pkgs.rust-bin.${channel}.${name};
          }) list
        );
      minorOf =
        v:
        let
          m = builtins.match "([0-9]+\\.[0-9]+).*" v;
        in
        if m == null then v else builtins.head m;
      newestStable = builtins.foldl' (
        a: v: if a == null || builtins.compareVersions v a > 0 then v else a
      ) null stables;
      wantedMinor =
        if rustConfig.channel == "stable" then
          (if newestStable == null then "" else minorOf newestStable)
        else
          minorOf rustConfig.channel;
      stableDetails = describeAll "stable" (builtins.filter (v: minorOf v == wantedMinor) stables);
      # Nightlies older than the newest candidate's release date cover every
      # branch point the Rust side can compute.
      newestRelease = builtins.foldl' (
        a: d: if d != null && (a == null || d > a) then d else a
      ) null (map (v: v.date) (builtins.attrValues stableDetails));
      nightlyCandidates =
        if nightlyConfig == null then
          [ ]
        else if nightlyConfig.date == "auto" then
          builtins.filter (d: newestRelease == null || d < newestRelease) nightlies
        else
          builtins.filter (d: d == nightlyConfig.date) nightlies;
    in
    {
      rust = rustConfig;
      inherit coverage host;
      nightly = nightlyConfig;
      packages = map (p: p.name or "unnamed") packages;
      available = {
        stable = stables;
        nightly = nightlies;
      };
      details = {
        stable = stableDetails;
        nightly = describeAll "nightly" nightlyCandidates;
      };
    };
}
