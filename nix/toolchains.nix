# The toolchains the lock pins, built by rust-overlay with what crate-env.nix
# asks for. Nothing is resolved here: versions come from crate-env.lock.
{
  pkgs,
  # `toolchains` of crate-env.lock (`stable`, `nightly`; null while locking).
  locked,
  # The normalised settings from ./config.nix.
  settings,
}:
let
  inherit (pkgs) lib;

  lockedOr =
    what: value:
    if value == null then throw "crate-env.lock has no resolved ${what}; run `crate-env lock`" else value;

  # rustup's name for the coverage tools; also accepted as "llvm-tools" from 1.67 on.
  coverageComponent = "llvm-tools-preview";

  # Names the missing piece: a version the pinned overlay lacks means a stale
  # lock; a profile it lacks means a broken overlay, not a stale lock.
  toolchainProfile =
    channel: name: profile:
    let
      toolchain =
        pkgs.rust-bin.${channel}.${name}
          or (throw "rust-overlay has no ${channel} ${name}; run `crate-env lock` to re-resolve");
    in
    toolchain.${profile} or (throw "rust-overlay's ${channel} ${name} has no profile '${profile}' (it has: ${
      builtins.concatStringsSep ", " (
        builtins.filter (n: !(lib.hasPrefix "_" n)) (builtins.attrNames toolchain)
      )
    })");
in
{
  stable =
    (toolchainProfile "stable" (lockedOr "stable toolchain" (locked.stable or null))
      settings.rust.profile
    ).override
      {
        extensions = lib.unique (
          settings.rust.components ++ lib.optional settings.coverage coverageComponent
        );
        inherit (settings.rust) targets;
      };

  nightly =
    if settings.nightly == null then
      null
    else
      (toolchainProfile "nightly" (lockedOr "nightly date" (locked.nightly or null))
        settings.nightly.profile
      ).override
        {
          extensions = settings.nightly.components;
          inherit (settings.nightly) targets;
        };
}
