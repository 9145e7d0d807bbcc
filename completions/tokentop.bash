# bash completion for tokentop; installed as $PREFIX/share/bash-completion/completions/tokentop
_tokentop() {
    local cur prev words cword
    _init_completion 2>/dev/null || {
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    }
    local commands="dashboard demo list show import export refresh revoke delete reauth daemon status providers rekey migrate audit config explain help"
    local scopes="user org delegated workspace bot"
    local statuses="healthy expiring refreshing failing needs-reauth expired revoked static"
    case $prev in
        --db|--config|--log|--metrics|--ca-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --themes) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --theme) COMPREPLY=($(compgen -W "default light high-contrast monochrome" -- "$cur")); return ;;
        --scope) COMPREPLY=($(compgen -W "$scopes" -- "$cur")); return ;;
        --status) COMPREPLY=($(compgen -W "$statuses" -- "$cur")); return ;;
        --lead|--concurrency|--on-event|--on-event-timeout|--history-days|--timeout|--workspace|--store) return ;;
    esac
    local command="" word
    for word in "${words[@]:1:cword-1}"; do
        case $word in -*) ;; *) command=$word; break ;; esac
    done
    local running="--lead --concurrency --readonly --metrics --on-event --on-event-timeout --history-days"
    local options
    case $command in
        ""|dashboard) options="--db --store --theme --themes --config --ca-file $running --help --version" ;;
        demo) options="--db --store --theme --themes --config $running" ;;
        list) options="--json --scope --status --workspace --db --store" ;;
        show) options="--json --db --store" ;;
        import|export|rekey|migrate) options="--db --store" ;;
        refresh|revoke) options="--db --store --ca-file" ;;
        delete) options="--force --integration --db --store" ;;
        status) options="--lead --db --store" ;;
        reauth) options="--no-browser --timeout --db --store --ca-file" ;;
        daemon) options="--db --store --config --log --ca-file $running" ;;
        providers) options="--json" ;;
        audit) options="--json --verify --db --store" ;;
        config) options="--config --log --ca-file $running" ;;
        explain) COMPREPLY=($(compgen -W "$scopes" -- "$cur")); return ;;
        help) COMPREPLY=($(compgen -W "$commands" -- "$cur")); return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$options" -- "$cur"))
    elif [[ -z $command ]]; then
        COMPREPLY=($(compgen -W "$commands" -- "$cur"))
    elif [[ $command == import || $command == export ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}
complete -F _tokentop tokentop
