# The project's sources for a build, as store paths made with `builtins.path`
# and a filter (works on every Nix). Which files belong to the project is
# decided by crate-env (src/build/source.rs): `.gitignore`d files, `target/`,
# `.crate-env/` and `result*` are left out, as git would.
{ lib, args }:
let
  root = /. + args.root;
  rootString = toString root;

  # Every parent directory of `files`, so the filter can descend into them.
  dirsOf =
    files:
    builtins.listToAttrs (
      lib.concatMap (
        file:
        let
          parts = lib.splitString "/" file;
        in
        builtins.genList (n: {
          name = lib.concatStringsSep "/" (lib.take (n + 1) parts);
          value = true;
        }) (builtins.length parts - 1)
      ) files
    );

  pathFor =
    name: files:
    let
      fileSet = lib.genAttrs files (_: true);
      dirs = dirsOf files;
    in
    builtins.path {
      path = root;
      inherit name;
      filter =
        path: type:
        let
          rel = lib.removePrefix "${rootString}/" (toString path);
        in
        if type == "directory" then dirs ? ${rel} else fileSet ? ${rel};
    };

  # The manifests themselves come from crate-env, stripped of descriptive
  # keys (stub manifests, see `stubs.manifests`).
  isManifest =
    file:
    lib.elem file [
      "Cargo.lock"
      ".cargo/config.toml"
      ".cargo/config"
    ];
in
{
  inherit root;
  # The whole project: the workspace layer.
  full = pathFor "source" args.files;
  # Cargo.lock and cargo's config: the dependency layer.
  manifests = pathFor "manifests" (builtins.filter isManifest args.files);
}
