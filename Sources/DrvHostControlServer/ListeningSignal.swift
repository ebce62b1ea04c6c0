import Synchronization

/// Set once, when the server listens or fails to; waiters before and after
/// that moment all get the outcome.
final class ListeningSignal: Sendable {
    private enum State {
        case waiting([CheckedContinuation<Void, any Error>])
        case finished((any Error)?)
    }

    private let state = Mutex(State.waiting([]))

    func wait() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome: (any Error)?? = state.withLock { state in
                switch state {
                case .waiting(let waiters):
                    state = .waiting(waiters + [continuation])
                    return nil
                case .finished(let error):
                    return .some(error)
                }
            }
            switch outcome {
            case .none: break
            case .some(.none): continuation.resume()
            case .some(.some(let error)): continuation.resume(throwing: error)
            }
        }
    }

    func finish(throwing error: (any Error)?) {
        let waiters = state.withLock { state in
            guard case .waiting(let waiters) = state else { return [CheckedContinuation<Void, any Error>]() }
            state = .finished(error)
            return waiters
        }
        for waiter in waiters {
            if let error { waiter.resume(throwing: error) } else { waiter.resume() }
        }
    }
}
