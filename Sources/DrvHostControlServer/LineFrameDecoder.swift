import NIOCore
import DrvHostControl

/// What the line decoder hands on: a complete line, or the news that the
/// peer sent more than the limit without a newline.
enum LineFrame: Equatable, Sendable {
    case line(ByteBuffer)
    case oversized
}

/// Splits the byte stream at "\n" (a "\r" before it is dropped; empty lines
/// are skipped). Holds at most `maximumLength` bytes of an unfinished line:
/// past that it emits `.oversized` once and discards everything after, so
/// a peer cannot make the server buffer without bound.
///
/// After `.oversized` it keeps reading and discarding up to `drainLimit`
/// bytes before closing: closing a Unix socket with unread input resets the
/// connection, and the peer would lose the error answer sent just before.
struct LineFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = LineFrame

    let maximumLength: Int
    let drainLimit: Int
    /// Bytes of the unfinished line already searched for a newline.
    private var searched = 0
    private var overflowed = false
    private var drained = 0

    init(maximumLength: Int, drainLimit: Int = 1 << 20) {
        self.maximumLength = maximumLength
        self.drainLimit = drainLimit
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if overflowed {
            drained += buffer.readableBytes
            buffer.moveReaderIndex(to: buffer.writerIndex)
            if drained > drainLimit { context.close(promise: nil) }
            return .needMoreData
        }
        let bytes = buffer.readableBytesView
        let unsearched = bytes.index(bytes.startIndex, offsetBy: searched)
        guard let newline = bytes[unsearched...].firstIndex(of: UInt8(ascii: "\n")) else {
            searched = bytes.count
            if bytes.count > maximumLength {
                overflowed = true
                buffer.moveReaderIndex(to: buffer.writerIndex)
                context.fireChannelRead(wrapInboundOut(.oversized))
            }
            return .needMoreData
        }
        searched = 0
        let length = bytes.distance(from: bytes.startIndex, to: newline)
        guard length <= maximumLength else {
            overflowed = true
            buffer.moveReaderIndex(to: buffer.writerIndex)
            context.fireChannelRead(wrapInboundOut(.oversized))
            return .needMoreData
        }
        var line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytesView.last == UInt8(ascii: "\r") {
            line = line.getSlice(at: line.readerIndex, length: line.readableBytes - 1)!
        }
        if line.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(.line(line)))
        }
        return .continue
    }

    /// At end of input, complete lines still count; an unfinished one is a
    /// request the peer abandoned (there is nobody left to answer).
    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer,
                             seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }
}
