# What lock-time resolution needs (src/locking/rules, docs/resolution.md): all
# toolchain names, and the release date, components and targets of the
# candidates only, so a real rust-overlay with hundreds of nightlies is not
# evaluated toolchain by toolchain. The candidates are a superset of what
# the Rust side may pick; it applies the rules.
{
  pkgs,
  # The normalised settings from ./config.nix.
  settings,
}:
let
  inherit (pkgs) lib;

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
    channel: list: lib.genAttrs list (name: describe pkgs.rust-bin.${channel}.${name});

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
    if settings.rust.channel == "stable" then
      (if newestStable == null then "" else minorOf newestStable)
    else
      minorOf settings.rust.channel;
  stableDetails = describeAll "stable" (builtins.filter (v: minorOf v == wantedMinor) stables);

  # Nightlies older than the newest candidate's release date cover every
  # branch point the Rust side can compute.
  newestRelease = builtins.foldl' (a: d: if d != null && (a == null || d > a) then d else a) null (
    map (v: v.date) (builtins.attrValues stableDetails)
  );
  nightlyCandidates =
    if settings.nightly == null then
      [ ]
    else if settings.nightly.date == "auto" then
      builtins.filter (d: newestRelease == null || d < newestRelease) nightlies
    else
      builtins.filter (d: d == settings.nightly.date) nightlies;
in
{
  inherit (settings) rust coverage nightly;
  inherit host;
  packages = map (p: p.name or "unnamed") settings.packages;
  available = {
    stable = stables;
    nightly = nightlies;
  };
  details = {
    stable = stableDetails;
    nightly = describeAll "nightly" nightlyCandidates;
  };
}
