# crate-env.nix: every file called with `{ pkgs, lib, rust-bin, system, ... }`,
# merged (a member overrides its parent field by field) and validated into
# the normalised settings the other parts of the library use.
{
  pkgs,
  system,
  # JSON list of absolute paths to crate-env.nix files, outermost first.
  configFiles,
}:
let
  inherit (pkgs) lib;

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
    in
    if !builtins.isAttrs result then
      throw "${file}: must evaluate to an attribute set (or a function returning one)"
    else
      {
        inherit file;
        value = result;
      };

  # A member's crate-env.nix overrides its parent's field by field: packages
  # append; env and builds merge by name (the child wins on a name); every
  # other field is replaced. `builds` merges whenever either file has it, so
  # the rule holds for any attribute-set field listed in mergedByName.
  mergedByName = [
    "env"
    "builds"
  ];
  mergeConfigs =
    parent: child:
    parent
    // child
    // {
      packages = (parent.packages or [ ]) ++ (child.packages or [ ]);
    }
    // lib.genAttrs (builtins.filter (n: parent ? ${n} || child ? ${n}) mergedByName) (
      n: (parent.${n} or { }) // (child.${n} or { })
    );

  calls = map callConfig (builtins.fromJSON configFiles);
  config = builtins.foldl' mergeConfigs { } (map (c: c.value) calls);

  # Every unknown field and wrong type at once (./validate.nix).
  problems = import ./validate.nix { inherit lib calls config; };
  checked =
    result:
    if problems == [ ] then
      result
    else
      throw "crate-env.nix has ${toString (builtins.length problems)} problem(s):\n  ${builtins.concatStringsSep "\n  " problems}";

  expect =
    what: check: value:
    if check value then value else throw "crate-env.nix: ${what}";

  stringList =
    what: value:
    expect "${what} must be a list of strings" (
      v: builtins.isList v && builtins.all builtins.isString v
    ) value;

  profile =
    what: value:
    expect "${what} must be \"minimal\" or \"default\"" (
      p:
      builtins.elem p [
        "minimal"
        "default"
      ]
    ) value;

  validName = name: builtins.match "[A-Za-z_][A-Za-z0-9_]*" name != null;

  envValue =
    name: value:
    if
      builtins.isString value || builtins.isPath value || builtins.isInt value || lib.isDerivation value
    then
      toString value
    else
      throw "crate-env.nix: env.${name} must be a string, number, path or derivation";
in
checked {
  # The merged crate-env.nix, as written.
  inherit config;

  rust =
    let
      merged = {
        channel = "stable";
        profile = "default";
        components = [ ];
        targets = [ ];
      }
      // (config.rust or { });
    in
    {
      channel = expect "rust.channel must be a string such as \"1.75.0\"" builtins.isString merged.channel;
      profile = profile "rust.profile" merged.profile;
      components = stringList "rust.components" merged.components;
      targets = stringList "rust.targets" merged.targets;
    };

  nightly =
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
        profile = profile "nightly.profile" merged.profile;
        components = stringList "nightly.components" merged.components;
        targets = stringList "nightly.targets" merged.targets;
      };

  coverage = expect "coverage must be true or false" builtins.isBool (config.coverage or false);

  packages = expect "packages must be a list of derivations" (
    ps: builtins.isList ps && builtins.all lib.isDerivation ps
  ) (config.packages or [ ]);

  shellHook = expect "shellHook must be a string" builtins.isString (config.shellHook or "");

  env = builtins.mapAttrs (
    name: value:
    if validName name then
      envValue name value
    else
      throw "crate-env.nix: env.${name}: not a valid environment variable name"
  ) (config.env or { });

  # Binary caches for building the environment (docs/ci.md) and remote
  # builders (docs/build.md): src/environment/nix_config.rs turns them into
  # `--option extra-substituters …`, `extra-trusted-public-keys …`, `builders …`.
  nixConfig =
    let
      given = expect "nixConfig must be an attribute set" builtins.isAttrs (config.nixConfig or { });
      known = [
        "substituters"
        "trusted-public-keys"
        "builders"
      ];
      unknown = builtins.filter (n: !(builtins.elem n known)) (builtins.attrNames given);
    in
    if unknown != [ ] then
      throw "crate-env.nix: unknown nixConfig field(s) ${builtins.concatStringsSep ", " unknown}; known: substituters, trusted-public-keys, builders"
    else
      {
        substituters = stringList "nixConfig.substituters" (given.substituters or [ ]);
        trusted-public-keys = stringList "nixConfig.trusted-public-keys" (
          given.trusted-public-keys or [ ]
        );
        builders = stringList "nixConfig.builders" (given.builders or [ ]);
      };
}
