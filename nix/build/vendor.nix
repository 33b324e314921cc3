# Cargo.lock → a vendor directory cargo accepts, without import-from-derivation:
# the lock files are read at evaluation time (`builtins.fromTOML`), every
# registry package is a fixed-output fetch of its `.crate` checked against the
# lock's `checksum`, git packages are fetched at their locked `rev`.
{
  lib,
  fetchurl,
  stdenvNoCC,
  # Download URL of a registry crate; `{crate}`, `{version}` and
  # `{sha256-checksum}` are replaced, as in a cargo registry's `dl` template.
  crateUrl,
}:
# The texts of the lock files to vendor: the project's Cargo.lock and, for
# `buildStd`, the toolchain's `library/Cargo.lock`.
lockTexts:
let
  crateSources = [
    "registry+https://github.com/rust-lang/crates.io-index"
    "sparse+https://index.crates.io/"
  ];

  packages = lib.concatMap (text: (builtins.fromTOML text).package or [ ]) lockTexts;

  isRegistry = p: p ? source && lib.elem p.source crateSources;
  isGit = p: p ? source && lib.hasPrefix "git+" p.source;
  unsupported = builtins.filter (p: p ? source && !(isRegistry p) && !(isGit p)) packages;

  # One entry per name and version, whichever lock names it.
  dedupe =
    ps:
    lib.attrValues (
      builtins.listToAttrs (
        map (p: {
          name = "${p.name}-${p.version}";
          value = p;
        }) ps
      )
    );

  urlFor =
    p:
    let
      template =
        if lib.hasInfix "{" crateUrl then crateUrl else "${crateUrl}/{crate}/{version}/download";
    in
    builtins.replaceStrings
      [ "{crate}" "{version}" "{sha256-checksum}" ]
      [ p.name p.version p.checksum ]
      template;

  fetchCrate =
    p:
    if !(p ? checksum) then
      throw "Cargo.lock: ${p.name} ${p.version} has no checksum; regenerate the lock with a current cargo (`cargo generate-lockfile`)"
    else
      fetchurl {
        name = "${p.name}-${p.version}.crate";
        url = urlFor p;
        sha256 = p.checksum;
      };

  registryCrates = map (p: {
    dir = "${p.name}-${p.version}";
    inherit (p) checksum;
    crate = fetchCrate p;
  }) (dedupe (builtins.filter isRegistry packages));

  # `git+URL?branch=B#REV` (cargo's lock format).
  parseGit =
    p:
    let
      m = builtins.match "git\\+([^?#]*)(\\?([^#]*))?#(.*)" p.source;
      query = if m == null || builtins.elemAt m 2 == null then "" else builtins.elemAt m 2;
      pairs = map (kv: lib.splitString "=" kv) (builtins.filter (s: s != "") (lib.splitString "&" query));
    in
    if m == null then
      throw "Cargo.lock: cannot read the git source of ${p.name} ${p.version}: ${p.source}"
    else
      {
        url = builtins.head m;
        rev = builtins.elemAt m 3;
        # The reference cargo's source replacement has to name: the lock's source without `#rev`.
        key = builtins.head (lib.splitString "#" p.source);
        reference = builtins.listToAttrs (
          map (kv: {
            name = builtins.head kv;
            value = lib.last kv;
          }) pairs
        );
      };

  # The directory holding package `name` in a fetched repository: the root or
  # up to two levels down (workspaces keep members in `crates/NAME` & co).
  findCrate =
    name: root:
    let
      isIt =
        dir:
        let
          manifest = dir + "/Cargo.toml";
        in
        builtins.pathExists manifest
        && ((builtins.fromTOML (builtins.readFile manifest)).package.name or null) == name;
      subdirs =
        dir:
        map (n: dir + "/${n}") (
          builtins.attrNames (lib.filterAttrs (n: t: t == "directory" && n != ".git") (builtins.readDir dir))
        );
      candidates = [ root ] ++ subdirs root ++ lib.concatMap subdirs (subdirs root);
    in
    lib.findFirst isIt (throw "git source ${toString root}: no package `${name}` found") candidates;

  gitPackages = dedupe (builtins.filter isGit packages);

  gitCrates = map (
    p:
    let
      g = parseGit p;
      repo = builtins.fetchGit {
        inherit (g) url rev;
        allRefs = true;
      };
    in
    {
      dir = "${p.name}-${p.version}";
      checksum = null;
      path = findCrate p.name repo;
      inherit g;
    }
  ) gitPackages;

  vendor = stdenvNoCC.mkDerivation {
    name = "cargo-vendor";
    # Lines `DIR CHECKSUM CRATE-FILE` and `DIR - SOURCE-DIR`.
    crates = lib.concatMapStrings (c: "${c.dir} ${c.checksum} ${c.crate}\n") registryCrates;
    gitDirs = lib.concatMapStrings (c: "${c.dir} - ${c.path}\n") gitCrates;
    passAsFile = [
      "crates"
      "gitDirs"
    ];
    buildCommand = ''
      mkdir -p "$out"
      while read -r dir checksum crate; do
        mkdir "$out/$dir"
        tar xzf "$crate" -C "$out/$dir" --strip-components=1
        printf '{"files":{},"package":"%s"}' "$checksum" >"$out/$dir/.cargo-checksum.json"
      done <"$cratesPath"
      while read -r dir _ src; do
        cp -r --no-preserve=mode "$src" "$out/$dir"
        printf '{"files":{},"package":null}' >"$out/$dir/.cargo-checksum.json"
      done <"$gitDirsPath"
    '';
  };

  # Every fetched `.crate`, referenced from one output: a GC root and a
  # `cache push` for it keeps and shares the downloads.
  crates = stdenvNoCC.mkDerivation {
    name = "cargo-crates";
    links = lib.concatMapStrings (c: "${c.crate}\n") registryCrates;
    passAsFile = [ "links" ];
    buildCommand = ''
      mkdir -p "$out"
      while read -r crate; do
        ln -s "$crate" "$out/''${crate#*-}"
      done <"$linksPath"
    '';
  };

  # Packages of one repository share a section.
  gitConfig = lib.concatStrings (lib.unique (map (
    c:
    let
      refs = lib.concatStrings (
        lib.mapAttrsToList (k: v: "${k} = ${builtins.toJSON v}\n") (
          lib.filterAttrs (k: _: lib.elem k [ "branch" "tag" "rev" ]) c.g.reference
        )
      );
    in
    ''

      [source.${builtins.toJSON c.g.key}]
      git = ${builtins.toJSON c.g.url}
      ${refs}replace-with = "vendored-sources"
    ''
  ) gitCrates));

  # Source replacement: cargo reads every crate from the vendor directory.
  cargoConfig = ''
    [source.crates-io]
    replace-with = "vendored-sources"

    [source.vendored-sources]
    directory = "${vendor}"
  ''
  + gitConfig;
in
if unsupported != [ ] then
  throw "Cargo.lock: ${(builtins.head unsupported).name} comes from ${(builtins.head unsupported).source}; crate-env build vendors crates.io and git sources only"
else
  {
    inherit vendor crates cargoConfig;
  }
