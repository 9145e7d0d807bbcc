# fish completion for tokentop; installed as $PREFIX/share/fish/vendor_completions.d/tokentop.fish
set -l commands dashboard demo list show import export refresh revoke delete reauth daemon status providers rekey migrate audit config explain help
set -l scopes user org delegated workspace bot
set -l statuses healthy expiring refreshing failing needs-reauth expired revoked static

complete -c tokentop -f
complete -c tokentop -n "not __fish_seen_subcommand_from $commands" -a dashboard -d 'open the dashboard'
complete -c tokentop -n "not __fish_seen_subcommand_from $commands" -a demo -d 'the dashboard on a demo database'
complete -c tokentop -n "not __fish_seen_subcommand_from $commands" -a list -d 'list connections'
complete -c tokentop -n "not __fish_seen_subcommand_from $commands" -a show -d 'one connection and its history'
complete -c tokentop -n "not __fish_seen_subcommand_from $commands" -a import -d 'import a JSON file'
complete -c tokentop -n "not __fish_seen_subcommand_from $commands" -a export -d 'the whole store as one JSON file'
complete -c tokentop -n "not __fish_seen_subcommand_from $commands" -a refresh -d 'refresh connections now'
complete -c tokentop -n "not __fish_seen_subcommand_from $commands" -a revoke -d 'revoke at the provider and here'
complete -c tokentop -n "not __fish_seen_subcommand_from $commands" -a delete -d 'delete connections, or unused integrations'
complete -c tokentop -n "not __fish_seen_subcommand_from $commands" -a reauth -d 'sign a user connection in again'
complete -c tokentop -n "not __fish_seen_subcommand_from $commands" -a daemon -d 'the refresh actor without a terminal'
complete -c tokentop -n "not __fish_seen_subcommand_from $commands" -a status -d 'one line for monitoring'
complete -c tokentop -n "not __fish_seen_subcommand_from $commands" -a providers -d 'the provider catalog'
complete -c tokentop -n "not __fish_seen_subcommand_from $commands" -a rekey -d 're-encrypt every secret'
complete -c tokentop -n "not __fish_seen_subcommand_from $commands" -a migrate -d 'create or upgrade the store tables'
complete -c tokentop -n "not __fish_seen_subcommand_from $commands" -a audit -d 'the operators actions'
complete -c tokentop -n "not __fish_seen_subcommand_from $commands" -a config -d 'the settings in force'
complete -c tokentop -n "not __fish_seen_subcommand_from $commands" -a explain -d 'the identity models side by side'
complete -c tokentop -n "not __fish_seen_subcommand_from $commands" -a help -d 'help for one command'

complete -c tokentop -l db -r -F -d 'the database'
complete -c tokentop -l store -x -d 'a PostgreSQL store URL'
complete -c tokentop -l config -r -F -d 'the configuration file'
complete -c tokentop -l theme -x -a 'default light high-contrast monochrome' -d 'the dashboard theme'
complete -c tokentop -l themes -x -a '(__fish_complete_directories)' -d 'where theme files live'
complete -c tokentop -l lead -x -d 'the shortest refresh lead window, seconds'
complete -c tokentop -l concurrency -x -d 'refreshes in flight at once'
complete -c tokentop -l readonly -d 'no refresh, revoke or re-auth'
complete -c tokentop -l metrics -r -F -d 'Prometheus text exposition file'
complete -c tokentop -l on-event -x -d 'a command run for each event'
complete -c tokentop -l on-event-timeout -x -d 'seconds before an event command is killed'
complete -c tokentop -l history-days -x -d 'days of history to keep (0 keeps all)'
complete -c tokentop -l log -r -F -d 'the daemon log file'
complete -c tokentop -l ca-file -r -F -d 'certificate authorities to trust for providers'
complete -c tokentop -n '__fish_seen_subcommand_from list show providers audit' -l json -d 'JSON output'
complete -c tokentop -n '__fish_seen_subcommand_from list' -l scope -x -a "$scopes"
complete -c tokentop -n '__fish_seen_subcommand_from list' -l status -x -a "$statuses"
complete -c tokentop -n '__fish_seen_subcommand_from list' -l workspace -x -d 'one workspace'
complete -c tokentop -n '__fish_seen_subcommand_from audit' -l verify -d 'check the hash chain'
complete -c tokentop -n '__fish_seen_subcommand_from delete' -l force -d 'delete a connection that holds a live token'
complete -c tokentop -n '__fish_seen_subcommand_from delete' -l integration -d 'the ids name integrations'
complete -c tokentop -n '__fish_seen_subcommand_from reauth' -l no-browser -d 'print the URL only'
complete -c tokentop -n '__fish_seen_subcommand_from reauth' -l timeout -x -d 'seconds to wait for the user'
complete -c tokentop -n '__fish_seen_subcommand_from explain' -x -a "$scopes"
complete -c tokentop -n '__fish_seen_subcommand_from help' -x -a "$commands"
complete -c tokentop -n '__fish_seen_subcommand_from import export' -F
complete -c tokentop -l help -d 'usage'
complete -c tokentop -l version -d 'version and linked libraries'
