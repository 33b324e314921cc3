# The environment: a mkShell whose build (./capture-env.sh) runs the stdenv
# setup with the toolchain and `packages`, then writes every exported
# variable, plus what crate-env needs to know, to $out/env.json.
{
  pkgs,
  stable,
  nightly,
  packages,
  # Validated user `env` (name → string).
  userEnv,
  coverage,
  shellHook,
  sources,
}:
let
  inherit (pkgs) lib;

  hostTriple = pkgs.stdenv.hostPlatform.rust.rustcTarget;
  llvmToolsBin = "${stable}/lib/rustlib/${hostTriple}/bin";

  # Exported after the setup hooks ran, so these win over anything a hook set.
  exports =
    lib.optionalAttrs coverage {
      LLVM_COV = "${llvmToolsBin}/llvm-cov";
      LLVM_PROFDATA = "${llvmToolsBin}/llvm-profdata";
    }
    // lib.optionalAttrs (nightly != null) { CRATE_ENV_NIGHTLY = "${nightly}"; }
    // userEnv;

  exportScript = lib.concatStrings (
    lib.mapAttrsToList (name: value: "export ${name}=${lib.escapeShellArg value}\n") exports
  );

  # Written into env.json as is; string context makes every path a build input
  # and the output's references keep them alive under one GC root.
  meta = {
    stable = "${stable}";
    nightly = if nightly == null then null else "${nightly}";
    # Where the user's packages keep their binaries: each gets a proxy in .crate-env/bin.
    packages = map (p: "${lib.getBin p}") packages;
    sources = {
      nixpkgs = "${sources.nixpkgs}";
      rust-overlay = "${sources.rust-overlay}";
    };
    inherit shellHook;
  };

  captureArgs = {
    name = "crate-env";
    packages = [ stable ] ++ packages;
    buildCommand = builtins.readFile ./capture-env.sh;
    crateEnvExports = exportScript;
    # A file, not a variable: one variable holds at most 128 KiB (Linux's
    # MAX_ARG_STRLEN), and `env` may hold more than that in all.
    passAsFile = [ "crateEnvExports" ];
    crateEnvKeep = builtins.concatStringsSep " " (builtins.attrNames exports);
    crateEnvMeta = builtins.toJSON meta;
  };

  # Derivation attributes reach the builder as variables; they describe the
  # build, not the environment, so capture-env.sh drops them.
  captureDrop = builtins.concatStringsSep " " (
    builtins.attrNames (pkgs.mkShell (captureArgs // { crateEnvDrop = ""; })).drvAttrs
  );
in
pkgs.mkShell (captureArgs // { crateEnvDrop = captureDrop; })
# For `crate-env build` (./build): the layers export the same variables.
// {
  inherit exportScript;
}
