/// The texts of the shipped themes, built in so that every theme the README names works wherever the binary is,
/// with or without its `themes/` folder. A test keeps them and the files identical.
enum ShippedThemes {
    /// Theme text by name.
    static let texts: [String: String] = [
        "default": """
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

        """,
        "light": """
            # tokentop light theme: for terminals with a light background.
            #
            # Dark foregrounds on the terminal's own background; no yellow or cyan text, which fade on white.
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

            header              = black default bold
            table.header        = white blue
            group.header        = blue default bold
            row                 = default default
            cursor              = white black
            marked              = magenta default bold

            status.healthy      = green default
            status.expiring     = magenta default
            status.refreshing   = blue default
            status.failing      = red default bold
            status.needs-reauth = white red bold
            status.expired      = red default
            status.revoked      = magenta default dim
            status.static       = blue default

            countdown.ok        = default default
            countdown.warn      = magenta default bold
            countdown.critical  = red default bold

            dialog              = white blue
            help                = white blue
            event               = default default
            error               = red default bold
            hints               = white blue
            label               = blue default bold

            """,
        "high-contrast": """
            # tokentop high-contrast theme: safe for colour-blind users.
            #
            # Bright text on black, and only blue, orange-ish yellow and white as signal colours (the Okabe-Ito
            # pairs that stay apart under protanopia, deuteranopia and tritanopia); red and green are never the only
            # difference. Trouble is also bold or reverse, so it reads without colour at all.
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

            header              = bright-white black bold
            table.header        = black bright-white bold
            group.header        = bright-white black bold underline
            row                 = bright-white black
            cursor              = black bright-yellow bold
            marked              = bright-cyan black bold underline

            status.healthy      = bright-blue black bold
            status.expiring     = bright-yellow black
            status.refreshing   = bright-cyan black
            status.failing      = bright-yellow black bold
            status.needs-reauth = black bright-yellow bold
            status.expired      = bright-white black bold reverse
            status.revoked      = bright-magenta black
            status.static       = bright-white black

            countdown.ok        = bright-white black
            countdown.warn      = bright-yellow black bold
            countdown.critical  = black bright-yellow bold

            dialog              = black bright-white bold
            help                = black bright-white
            event               = bright-white black
            error               = bright-yellow black bold reverse
            hints               = black bright-cyan
            label               = bright-cyan black bold

            """,
        "monochrome": """
            # tokentop monochrome theme: attributes only, for terminals without colour or for those who prefer it.
            # Same format as default.theme.

            header              = default default bold
            table.header        = default default reverse
            group.header        = default default bold underline
            row                 = default default
            cursor              = default default reverse
            marked              = default default bold
            status.healthy      = default default
            status.expiring     = default default bold
            status.refreshing   = default default
            status.failing      = default default bold
            status.needs-reauth = default default bold reverse
            status.expired      = default default bold
            status.revoked      = default default dim
            status.static       = default default
            countdown.ok        = default default
            countdown.warn      = default default bold
            countdown.critical  = default default bold reverse
            dialog              = default default reverse
            help                = default default reverse
            event               = default default
            error               = default default bold
            hints               = default default reverse
            label               = default default bold

            """,
    ]
}
