/// The text of `themes/default.theme`, built in so that the binary draws well without its themes directory.
///
/// A test keeps this text and the file identical.
enum DefaultTheme {
    static let text = """
        # tokentop default theme
        #
        # One role per line:
        #
        #     role = foreground [background] [attribute ...]
        #
        # Colours:    default (the terminal's own), black, red, green, yellow, blue, magenta, cyan, white,
        #             bright-black … bright-white, or a number 0-255 on 256-colour terminals.
        # Attributes: bold, dim, reverse, underline, or none.
        # '#' starts a comment. A role this file leaves out keeps the built-in default.
        # With NO_COLOR set, colours are dropped and a coloured background becomes reverse video.
        # Status is never told by colour alone: every status also shows its symbol and its word.

        header              = default default bold
        table.header        = black green
        group.header        = cyan default bold
        row                 = default default
        cursor              = black cyan
        marked              = yellow default bold

        status.healthy      = green default
        status.expiring     = yellow default
        status.refreshing   = cyan default
        status.failing      = yellow default bold
        status.needs-reauth = red default bold
        status.expired      = red default
        status.revoked      = magenta default
        status.static       = blue default

        countdown.ok        = default default
        countdown.warn      = yellow default
        countdown.critical  = red default bold

        dialog              = white blue
        help                = black white
        event               = default default
        error               = red default bold
        hints               = black cyan
        label               = cyan default

        """
}
