import CDevSim
import CDrvHost
import DriverHostCore
import Glibc
import DrvHostSystem

/// One connected client of one simulated function, and the translation of
/// its messages into the function's ioctl-like calls (CDevSim.h lists them).
final class Connection {
    let socket: Descriptor
    let function: SimulatedFunction
    private(set) var isOwner = false
    private(set) var greeted = false

    init(socket: Descriptor, function: SimulatedFunction) {
        self.socket = socket
        self.function = function
    }

    /// Answers one request. false: the client is gone or broke the
    /// protocol; the caller then closes the connection.
    func serve(_ message: UnsafeRawBufferPointer) -> Bool {
        guard message.count >= MemoryLayout<devsim_msg>.size else { return false }
        let request = message.loadUnaligned(as: devsim_msg.self)
        let payload = UnsafeRawBufferPointer(rebasing: message[MemoryLayout<devsim_msg>.size...])
        var answer = devsim_msg()
        answer.op = request.op
        if !greeted {
            guard request.op == UInt32(DEVSIM_HELLO.rawValue) else { return false }
            return hello(request, &answer)
        }
        let observerMayAsk = [DEVSIM_COUNTERS, DEVSIM_INJECT_ERROR].map { UInt32($0.rawValue) }
        guard isOwner || observerMayAsk.contains(request.op) else {
            answer.status = -EPERM
            return send(answer)
        }
        do throws(DevSimError) {
            switch devsim_op(request.op) {
            case DEVSIM_SET_PROG:
                let count = payload.count / MemoryLayout<drvproxy_insn>.stride
                guard payload.count % MemoryLayout<drvproxy_insn>.stride == 0,
                      count <= Int(DRVPROXY_PROG_MAX_INSNS) else {
                    answer.a.0 = UInt32(DRVPROXY_EPROG_TOO_LONG.rawValue)
                    throw .errno(EINVAL)
                }
                let insns = (0..<count).map { payload.loadUnaligned(fromByteOffset: $0 * 32, as: drvproxy_insn.self) }
                let (status, error, index) = function.setProgram(kind: request.a.0, flags: request.a.1, instructions: insns)
                answer.status = status
                answer.a.0 = error
                answer.a.1 = index
            case DEVSIM_SET_IRQ:
                try function.setIRQ(mode: request.a.0, vectors: request.a.1)
            case DEVSIM_UNMASK:
                try function.unmask()
            case DEVSIM_DMA_MASK:
                try function.setDMAMask(bits: request.a.0)
            case DEVSIM_DMA_ALLOC:
                let (buffer, fd) = try function.allocateDMA(size: request.b.0)
                answer.a.0 = buffer.id
                answer.b.0 = buffer.busAddress
                answer.b.1 = buffer.size
                defer { close(fd) }
                return send(answer, fd: fd)
            case DEVSIM_DMA_FREE:
                try function.freeDMA(id: request.a.0)
            case DEVSIM_RESET:
                function.release()
            case DEVSIM_READ:
                answer.b.0 = try function.readRegister(bar: request.a.0, offset: request.b.0, width: request.a.1)
            case DEVSIM_WRITE:
                try function.writeRegister(bar: request.a.0, offset: request.b.0, width: request.a.1, value: request.b.1)
            case DEVSIM_READ_EVENTS:
                let events = function.readEvents(max: min(Int(request.a.0), Int(DEVSIM_MAX_EVENTS_PER_READ)))
                answer.a.0 = UInt32(events.count)
                return events.withUnsafeBytes { send(answer, payload: $0) }
            case DEVSIM_BUS_MASTER:
                guard request.a.0 <= 1 else { throw .errno(EINVAL) }
                function.setBusMaster(request.a.0 == 1)
            case DEVSIM_INJECT_ERROR:
                try function.injectError(channelState: request.a.0)
            case DEVSIM_COUNTERS:
                let counters = function.counters
                return withUnsafeBytes(of: counters) { send(answer, payload: $0) }
            default:
                answer.status = -ENOTTY
            }
        } catch {
            answer.status = -error.code
        }
        return send(answer)
    }

    private func hello(_ request: devsim_msg, _ answer: inout devsim_msg) -> Bool {
        guard request.a.0 == UInt32(DEVSIM_WIRE_VERSION) else {
            answer.status = -EPROTO
            _ = send(answer)
            return false
        }
        let info = function.info
        switch devsim_role(request.a.1) {
        case DEVSIM_ROLE_OWN:
            do {
                let events = try function.open(owner: cds_peer_pid(socket.raw))
                isOwner = true
                greeted = true
                return withUnsafeBytes(of: info) { send(answer, payload: $0, fd: events.raw) }
            } catch {
                answer.status = -error.code
                answer.a.0 = function.ownerPID
                _ = send(answer)
                return false
            }
        case DEVSIM_ROLE_OBSERVE:
            greeted = true
            return withUnsafeBytes(of: info) { send(answer, payload: $0) }
        default:
            answer.status = -EINVAL
            _ = send(answer)
            return false
        }
    }

    /// The connection is gone: for the owner, that is the last close.
    func closed() {
        if isOwner {
            isOwner = false
            function.close()
        }
        socket.close()
    }

    private func send(_ answer: devsim_msg, payload: UnsafeRawBufferPointer? = nil, fd: Int32 = -1) -> Bool {
        var answer = answer
        return cds_send(socket.raw, &answer, payload?.baseAddress, payload?.count ?? 0, fd) >= 0
    }
}
