# Every problem of the crate-env.nix files at once (docs/contract.md): unknown
# fields (with the closest known name), wrong types, invalid values. Returns
# a list of messages, each naming the file that set the field; config.nix
# throws them all together, so one run shows every mistake.
{
  lib,
  # [ { file = "/abs/crate-env.nix"; value = { ... }; } ], outermost first
  calls,
  # the merged attribute set
  config,
}:
let
  inherit (builtins)
    attrNames
    elem
    filter
    isAttrs
    isList
    isString
    substring
    typeOf
    ;

  known = {
    top = [
      "rust"
      "coverage"
      "nightly"
      "packages"
      "env"
      "shellHook"
      "nixConfig"
      "builds"
    ];
    rust = [
      "channel"
      "profile"
      "components"
      "targets"
    ];
    nightly = [
      "date"
      "profile"
      "components"
      "targets"
    ];
    nixConfig = [
      "substituters"
      "trusted-public-keys"
      "builders"
    ];
  };

  # A known name sharing the first three letters: catches the usual typos
  # (chanel, componets, targts, packges, nigthly) without string distances.
  didYouMean =
    name: names:
    let
      close = filter (
        k: lib.hasPrefix (substring 0 3 name) k || lib.hasPrefix (substring 0 3 k) name
      ) names;
    in
    if close == [ ] then "" else " (did you mean `${builtins.head close}`?)";

  unknownIn =
    file: where: names: set:
    map (n: "${file}: unknown field `${where}${n}`${didYouMean n names}; known: ${builtins.concatStringsSep ", " names}") (
      filter (n: !(elem n names)) (attrNames set)
    );

  fileProblems =
    { file, value }:
    unknownIn file "" known.top value
    ++ lib.optionals (isAttrs (value.rust or null)) (unknownIn file "rust." known.rust value.rust)
    ++ lib.optionals (isAttrs (value.nightly or null)) (
      unknownIn file "nightly." known.nightly value.nightly
    )
    ++ lib.optionals (isAttrs (value.nixConfig or null)) (
      unknownIn file "nixConfig." known.nixConfig value.nixConfig
    );

  # The last file that sets top(.sub): the one whose value counts.
  fileOf =
    top: sub:
    let
      sets = filter (
        c: c.value ? ${top} && (sub == null || (isAttrs c.value.${top} && c.value.${top} ? ${sub}))
      ) calls;
    in
    if sets == [ ] then "crate-env.nix" else (builtins.elemAt sets (builtins.length sets - 1)).file;

  show =
    v:
    if isString v then
      "the string \"${v}\""
    else if builtins.isInt v || builtins.isFloat v then
      "the number ${toString v}"
    else if builtins.isBool v then
      (if v then "true" else "false")
    else
      "a ${typeOf v}";

  check =
    top: sub: ok: what: value:
    let
      field = if sub == null then top else "${top}.${sub}";
    in
    lib.optional (!ok) "${fileOf top sub}: ${field} must be ${what}, not ${show value}";

  stringList = v: isList v && builtins.all isString v;
  profiles = [
    "minimal"
    "default"
  ];

  section =
    top: set:
    let
      has = n: isAttrs set && set ? ${n};
      field = n: ok: what: lib.optionals (has n) (check top n (ok set.${n}) what set.${n});
    in
    field "channel" isString "a string such as \"1.75.0\""
    ++ field "date" isString "a string such as \"2023-11-09\" or \"auto\""
    ++ field "profile" (p: elem p profiles) "\"minimal\" or \"default\""
    ++ field "components" stringList "a list of strings"
    ++ field "targets" stringList "a list of strings";

  has = n: config ? ${n};
  topField = n: ok: what: lib.optionals (has n) (check n null (ok config.${n}) what config.${n});

  validName = name: builtins.match "[A-Za-z_][A-Za-z0-9_]*" name != null;
  envOk =
    v: isString v || builtins.isPath v || builtins.isInt v || lib.isDerivation v;
  envProblems = lib.optionals (isAttrs (config.env or { })) (
    builtins.concatMap (
      n:
      lib.optional (!validName n) "${fileOf "env" n}: env.${n}: not a valid environment variable name"
      ++ lib.optionals (validName n) (
        check "env" n (envOk config.env.${n}) "a string, number, path or derivation" config.env.${n}
      )
    ) (attrNames (config.env or { }))
  );

  nightlyProblems =
    lib.optional (
      isAttrs (config.nightly or null) && !(config.nightly ? date)
    ) "${fileOf "nightly" null}: nightly.date is required when nightly is set";
in
builtins.concatMap fileProblems calls
++ topField "rust" isAttrs "an attribute set"
++ section "rust" (config.rust or { })
++ topField "nightly" (n: n == null || isAttrs n) "an attribute set or null"
++ section "nightly" (config.nightly or { })
++ nightlyProblems
++ topField "coverage" builtins.isBool "true or false"
++ topField "packages" (ps: isList ps && builtins.all lib.isDerivation ps) "a list of derivations"
++ topField "shellHook" isString "a string"
++ topField "env" isAttrs "an attribute set"
++ envProblems
++ topField "builds" isAttrs "an attribute set"
++ import ./build/validate.nix {
  inherit lib config show;
  fileOf = name: fileOf "builds" name;
}
++ topField "nixConfig" isAttrs "an attribute set"
++ lib.optionals (isAttrs (config.nixConfig or null)) (
  builtins.concatMap (
    n:
    lib.optionals (config.nixConfig ? ${n}) (
      check "nixConfig" n (stringList config.nixConfig.${n}) "a list of strings" config.nixConfig.${n}
    )
  ) known.nixConfig
)
