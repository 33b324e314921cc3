# Environment capture: runs as the buildCommand of crate-env's mkShell, i.e.
# after stdenv's setup script sourced every input's setup hook. Writes
# $out/env.json with the exported variables as they stand now.
#
# Variables that describe the build rather than the environment are dropped:
# the derivation's own attributes (crateEnvDrop, computed by default.nix), and
# the builder's runtime variables below. Names in crateEnvKeep (user `env`,
# LLVM_COV, ...) are kept even if they collide with an attribute name.

crateEnvRuntimeVars=" HOME PWD OLDPWD SHLVL TERM TZ _ PPID UID BASHOPTS SHELLOPTS
  TEMP TEMPDIR TMP TMPDIR NIX_BUILD_TOP NIX_BUILD_CORES NIX_LOG_FD NIX_STORE
  NIX_ENFORCE_PURITY NIX_ATTRS_JSON_FILE NIX_ATTRS_SH_FILE NIX_REMOTE
  SOURCE_DATE_EPOCH SHELL CONFIG_SHELL HOST_PATH out outputs "

. "$crateEnvExportsPath"

crateEnvJsonString() {
    local s=$1 i c
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\t'/\\t}
    s=${s//$'\r'/\\r}
    if [[ $s == *[$'\x01'-$'\x1f']* ]]; then
        for ((i = 1; i < 32; i++)); do
            printf -v c "\\x$(printf %02x "$i")"
            s=${s//"$c"/$(printf '\\u%04x' "$i")}
        done
    fi
    printf '"%s"' "$s"
}

# Only store paths: the builder's PATH also holds the stdenv's own initial
# path and must not leak the build machine's directories.
crateEnvStorePath() {
    local entry result=""
    local IFS=:
    for entry in $PATH; do
        case "$entry" in
        "$NIX_STORE"/*)
            case ":$result:" in
            *":$entry:"*) ;;
            *) result=${result:+$result:}$entry ;;
            esac
            ;;
        esac
    done
    printf '%s' "$result"
}

crateEnvDropped() {
    case " $crateEnvKeep " in *" $1 "*) return 1 ;; esac
    case "$1" in crateEnv*) return 0 ;; esac
    case "$crateEnvRuntimeVars $crateEnvDrop " in *[[:space:]]"$1"[[:space:]]*) return 0 ;; esac
    return 1
}

crateEnvWriteJson() {
    local name value sep=""
    printf '{"vars":{'
    while read -r name; do
        crateEnvDropped "$name" && continue
        if [ "$name" = PATH ]; then
            value=$(crateEnvStorePath)
        else
            value=${!name}
        fi
        printf '%s%s:' "$sep" "$(crateEnvJsonString "$name")"
        crateEnvJsonString "$value"
        sep=,
    done < <(compgen -e | LC_ALL=C sort)
    # crateEnvMeta is a JSON object from builtins.toJSON: splice its members in.
    printf '},%s\n' "${crateEnvMeta#\{}"
}

mkdir -p "$out"
crateEnvWriteJson >"$out/env.json"
