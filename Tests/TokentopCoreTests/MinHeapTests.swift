import Foundation
import Testing

@testable import TokentopCore

@Suite struct MinHeapTests {
    @Test func popsInKeyOrderWhetherBuiltAtOnceOrPushedOneByOne() {
        var generator = SystemRandomNumberGenerator()
        let keys = (0..<500).map { _ in Double.random(in: -1_000...1_000, using: &generator) }
        var pushed = MinHeap<Double, Int>()
        for (index, key) in keys.enumerated() { pushed.push(index, key: key) }
        var built = MinHeap(keys.enumerated().map { (key: $0.element, value: $0.offset) })
        var fromPushed: [Double] = []
        var fromBuilt: [Double] = []
        while let top = pushed.pop() { fromPushed.append(top.key) }
        while let top = built.pop() { fromBuilt.append(top.key) }
        #expect(fromPushed == keys.sorted())
        #expect(fromBuilt == keys.sorted())
        #expect(pushed.isEmpty && pushed.pop() == nil)
    }
}
