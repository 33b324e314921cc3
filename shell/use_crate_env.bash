# use_crate_env [DIR]: direnv integration of crate-env.
# Written by `crate-env direnv` (--install puts it in direnv's lib dir); in
# .envrc: `use crate_env`. See docs/activation.md and docs/workspaces.md.
#
# A cache hit starts no process. `crate-env direnv export` leaves the
# environment in .crate-env/direnv.bash, stamped with the time it read the
# inputs; while every watched file (each crate-env.nix, crate-env.lock) is
# not newer than that stamp (bash's builtin -nt) and still has the very mtime
# it had when read (neither -nt nor -ot its own stamp file: an mtime set back
# by `touch -d` or `cp -p` is a change too), the file is sourced and applied
# as is. Otherwise crate-env runs: it compares contents (`touch` or a no-op
# `git checkout` evaluates nothing), materialises if they changed, and on
# failure keeps the last good environment with CRATE_ENV_STALE=1. When there
# is no environment at all, it still registers the watches, so the edit that
# fixes crate-env.nix reloads direnv.
use_crate_env() {
  local __ce_dir=${1:-$PWD}
  [[ $__ce_dir == /* ]] || __ce_dir=$PWD/$__ce_dir
  __ce_dir=${__ce_dir%/}
  while [[ ! -f $__ce_dir/crate-env.nix ]]; do
    if [[ -z $__ce_dir ]]; then
      log_error "crate-env: no crate-env.nix in ${1:-$PWD} or any parent directory"
      return 1
    fi
    __ce_dir=${__ce_dir%/*}
  done
  # The workspace root: the outermost crate-env.nix above, unless one with a
  # crate-env.lock next to it comes first. A member's state is the root's
  # .crate-env/members/<path, % and / escaped>/ (docs/workspaces.md).
  local __ce_where=${__ce_dir:-/} __ce_top=$__ce_dir __ce_up=$__ce_dir __ce_member
  if [[ ! -f $__ce_dir/crate-env.lock ]]; then
    while [[ -n $__ce_up ]]; do
      __ce_up=${__ce_up%/*}
      if [[ -f $__ce_up/crate-env.nix ]]; then
        __ce_top=$__ce_up
        [[ -f $__ce_up/crate-env.lock ]] && break
      fi
    done
  fi
  local __ce_state=$__ce_top/.crate-env
  __ce_member=${__ce_dir#"$__ce_top"}
  __ce_member=${__ce_member#/}
  if [[ -n $__ce_member ]]; then
    __ce_member=${__ce_member//%/%25}
    __ce_state=$__ce_state/members/${__ce_member//\//%2F}
  fi
  : 2>/dev/null >|"$__ce_top/.crate-env/activated" # the last activation (gc)
  __ce_state=$__ce_state/direnv.bash
  local __ce_fresh= __ce_file __ce_i __ce_stamp
  # Set by the state file (see `crate-env direnv export`).
  local __crate_env_state= __crate_env_watches_in=
  local -a __crate_env_files=() __crate_env_stamps=() __crate_env_requires=()
  if [[ -f $__ce_state ]] && source "$__ce_state" &&
    [[ $__crate_env_state == 1 && ${DIRENV_WATCHES-} == "$__crate_env_watches_in" ]]; then
    __ce_fresh=1
    for __ce_i in "${!__crate_env_files[@]}"; do
      __ce_file=${__crate_env_files[__ce_i]}
      __ce_stamp=${__crate_env_stamps[__ce_i]-}
      if [[ ! -e $__ce_file || $__ce_file -nt $__ce_state || -z $__ce_stamp ||
        $__ce_file -nt $__ce_stamp || $__ce_file -ot $__ce_stamp ]]; then
        __ce_fresh=
        break
      fi
    done
    for __ce_file in "${__crate_env_requires[@]}"; do
      [[ -e $__ce_file ]] || __ce_fresh=
    done
  fi
  if [[ -n $__ce_fresh ]]; then
    __crate_env_apply
    return
  fi
  local __ce_exe=@CRATE_ENV_EXE@ __ce_out __ce_status=0
  [[ -x $__ce_exe ]] || __ce_exe=crate-env
  __ce_out=$("$__ce_exe" -C "$__ce_where" direnv export --direnv "${direnv:-direnv}") ||
    __ce_status=$?
  # On failure the output holds only the watches (see above).
  eval "$__ce_out"
  if ((__ce_status)); then
    log_error "crate-env: no environment for $__ce_where (see the error above; an edit of crate-env.nix or \`direnv reload\` tries again)"
    return 1
  fi
}
