# Problems of `builds` in the merged crate-env.nix (docs/build.md), all at
# once: a list of messages for ../validate.nix, each naming the file that set
# the build. Empty when `builds` is absent.
{
  lib,
  config,
  # name -> the crate-env.nix that set builds.NAME (or the field itself)
  fileOf,
  # "the string \"x\"", "a list", … for messages
  show,
}:
let
  inherit (builtins)
    attrNames
    elem
    filter
    isAttrs
    isBool
    isList
    isString
    ;

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

  stringList = v: isList v && builtins.all isString v;
  nullOrString = v: v == null || isString v;

  # [ field check what ]
  types = [
    [ "toolchain" (v: elem v [ "stable" "nightly" ]) "\"stable\" or \"nightly\"" ]
    [ "package" nullOrString "a package name (cargo -p)" ]
    [ "target" nullOrString "a target triple" ]
    [ "profile" isString "a cargo profile name" ]
    [ "features" stringList "a list of feature names" ]
    [ "noDefaultFeatures" isBool "true or false" ]
    [ "buildStd" stringList "a list of crates such as [ \"std\" \"panic_abort\" ]" ]
    [ "check" isBool "true or false" ]
    [ "postBuild" isString "a string of shell code" ]
  ];

  builds = config.builds or { };

  components =
    toolchain:
    let
      section = if toolchain == "stable" then config.rust or { } else config.nightly or { };
    in
    if isAttrs section && stringList (section.components or [ ]) then section.components or [ ] else [ ];

  # Needs of a build whose fields have the right types.
  needs =
    where: given:
    let
      toolchain = given.toolchain or "stable";
      buildStd = given.buildStd or [ ];
    in
    lib.optional (
      toolchain == "nightly" && (config.nightly or null) == null
    ) "${where} uses toolchain = \"nightly\", but crate-env.nix sets no nightly"
    ++ lib.optional (buildStd != [ ] && !(elem "rust-src" (components toolchain)))
      "${where}.buildStd needs the ${toolchain} toolchain's rust-src: add \"rust-src\" to ${
        if toolchain == "stable" then "rust" else "nightly"
      }.components"
    ++ lib.optional (
      buildStd != [ ] && (given.target or null) == null
    ) "${where}.buildStd needs a target (cargo -Z build-std requires --target)";

  one =
    name:
    let
      given = builds.${name};
      where = "${fileOf name}: builds.${name}";
      unknown = filter (f: !(elem f knownFields)) (attrNames given);
      typeProblems = builtins.concatMap (
        t:
        let
          f = builtins.elemAt t 0;
        in
        lib.optional (given ? ${f} && !((builtins.elemAt t 1) given.${f}))
          "${where}.${f} must be ${builtins.elemAt t 2}, not ${show given.${f}}"
      ) types;
    in
    if builtins.match "[A-Za-z0-9_][A-Za-z0-9_-]*" name == null then
      [ "${where}: a build name is letters, digits, `_` and `-`" ]
    else if !isAttrs given then
      [ "${where} must be an attribute set, not ${show given}" ]
    else
      lib.optional (unknown != [ ])
        "${where}: unknown field(s) ${lib.concatStringsSep ", " unknown}; known fields: ${lib.concatStringsSep ", " knownFields}"
      ++ typeProblems
      ++ lib.optionals (typeProblems == [ ]) (needs where given);
in
if !isAttrs builds then [ ] else builtins.concatMap one (attrNames builds)
