import TokentopCore

/// The core's engine is the dashboard's backend as it is.
extension Engine: DashboardBackend {}
