import TokentopCore

/// The core's engine is the dashboard's backend as it is (its sign-in members are in `Engine+Reauth.swift`).
extension Engine: DashboardBackend {}
