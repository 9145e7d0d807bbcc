import Foundation

/// What every widget may read while it draws one frame.
struct RenderContext {
    let dashboard: Dashboard
    let theme: Theme
    let now: Date
    let layout: Layout
}

/// One part of the screen: it draws itself into `rect` of the frame's canvas and nowhere else.
protocol Widget {
    func draw(in rect: Rect, on canvas: inout Canvas, context: RenderContext)
}
