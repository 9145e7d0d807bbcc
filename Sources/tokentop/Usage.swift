/// Every line of help the command line prints.
enum Usage {
    static let version = "0.1.0"

    static let text = """
        tokentop \(version): a terminal dashboard for OAuth tokens, API keys and app credentials.

        Usage:
          tokentop [--db PATH]                 open the dashboard
          tokentop demo [--db PATH]            open the dashboard on a fresh demo database
          tokentop list [--json] [--scope S] [--status S] [--workspace W]
                                               list connections
          tokentop show ID [--json]            every stored fact of one connection, and its history
          tokentop import FILE                 add integrations and connections from a JSON file (- for stdin)
          tokentop refresh ID...               refresh connections now (a static key: check it at its probe URL)
          tokentop revoke ID...                revoke at the provider (RFC 7009) and here
          tokentop reauth ID [--no-browser] [--timeout SECONDS]
                                               sign a user connection in again (browser with PKCE, or a
                                               device code); for other scopes, say who must act
          tokentop daemon                      run the refresh actor without a terminal (JSON lines on stderr)
          tokentop status                      one line for monitoring; exit 0 OK, 1 failing, 2 re-auth or expired
          tokentop providers [--json]          the provider catalog: endpoints, grants, rotation, quirks
          tokentop rekey                       re-encrypt every secret under a new key (TOKENTOP_NEW_KEY, or a
                                               fresh key file)
          tokentop audit [--json] [--verify]   the operators' actions, hash-chained; --verify checks the chain
          tokentop config                      the settings in force, and where each comes from
          tokentop explain [SCOPE]             the five identity models side by side; SCOPE's column is marked
          tokentop help | --help | --version

        Options:
          --db PATH      the database (default: $TOKENTOP_DB, else $XDG_DATA_HOME/tokentop/tokentop.sqlite3)
          --themes DIR   where theme files live (default: the themes/ folder shipped with tokentop)
          --theme NAME   the dashboard's theme: default, light, high-contrast, monochrome, or NAME.theme in --themes
          --json         machine-readable output (list, show)
          --scope S      user, org, delegated, workspace or bot
          --status S     healthy, expiring, refreshing, failing, needs-reauth, expired, revoked or static
          --workspace W  one workspace's connections: those whose workspace is W, and workspace-scope
                         connections without one whose subject is W
          --config FILE  the configuration file (default: $TOKENTOP_CONFIG, else $XDG_CONFIG_HOME/tokentop/config.json)
          --lead SECONDS the shortest refresh lead window (dashboard, demo, daemon; default 300)
          --concurrency N  refreshes in flight at once (default 8)
          --readonly     no refresh, revoke or re-auth from this process; the header shows a lock
          --log FILE     the daemon's JSON-lines log (default: stderr); reopened on SIGHUP
          --metrics FILE write Prometheus text exposition there, atomically, every few seconds
          --on-event CMD run CMD (with sh -c) for each event, the event as JSON on its stdin
          --on-event-timeout SECONDS   kill an event command after this long (default 10)
          --no-browser   reauth: print the sign-in URL without opening a browser
          --timeout SECONDS
                         reauth: how long to wait for the user (default: 300 for the browser, the device
                         code's own lifetime for a device code)

        Environment:
          TOKENTOP_DB    the database, when --db is not given
          TOKENTOP_CONFIG the configuration file, when --config is not given
          TOKENTOP_KEY   base64 of the 32-byte key that encrypts secrets at rest (else a key file in
                         $XDG_CONFIG_HOME/tokentop/key, created on first use)
          NO_COLOR       draw the dashboard without colours

        Dashboard keys: q quit, ? help, r refresh, x revoke, a re-auth, Enter details, / filter,
        arrows or j/k move, 1-5 one scope, 0 all, s sort, space mark, i explain the identity model,
        Esc back or clear the filter.

        Exit status: 0 success, 1 a failure (a refresh or revocation failed, a bad file, a database problem),
        2 a command line that makes no sense.
        """
}
