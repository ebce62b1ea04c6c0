import FoundationEssentials

/// Turns lines into requests and answers into lines. Every failure to read a
/// request becomes a ControlError(.badRequest) that still carries the
/// request's id when the line got that far.
public enum WireCodec {
    private struct IDOnly: Decodable { var id: Int? }

    /// A request line that could not be read: the error to answer with and
    /// the id to answer it under.
    public struct Rejection: Error, Equatable, Sendable {
        public var id: Int?
        public var error: ControlError

        public init(id: Int?, error: ControlError) {
            self.id = id
            self.error = error
        }
    }

    public static func decodeRequest(_ line: some Collection<UInt8>) throws(Rejection) -> ControlRequest {
        let data = Data(line)
        let decoder = JSONDecoder()
        do {
            return try decoder.decode(ControlRequest.self, from: data)
        } catch {
            let id = (try? decoder.decode(IDOnly.self, from: data))?.id
            throw Rejection(id: id, error: badRequest(from: error))
        }
    }

    public static func encodeRequest(_ request: ControlRequest) -> [UInt8] {
        line(request)
    }

    public static func encodeSuccess<Result: Codable & Sendable>(id: Int, _ result: Result) -> [UInt8] {
        line(ControlResponse.success(id: id, result))
    }

    public static func encodeFailure(id: Int?, _ error: ControlError) -> [UInt8] {
        line(ControlResponse<NoResult>.failure(id: id, error))
    }

    /// Reads an answer whose result should be a `Result`.
    public static func decodeResponse<Result: Codable & Sendable>(
        _ line: some Collection<UInt8>, as: Result.Type
    ) throws -> ControlResponse<Result> {
        try JSONDecoder().decode(ControlResponse<Result>.self, from: Data(line))
    }

    private static func line(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Our own values always encode: a failure here is a programming error.
        guard let data = try? encoder.encode(value) else {
            preconditionFailure("control protocol value failed to encode: \(value)")
        }
        return Array(data) + [UInt8(ascii: "\n")]
    }

    private static func badRequest(from error: any Error) -> ControlError {
        switch error {
        case let error as ControlError:
            return error
        case DecodingError.typeMismatch(let type, let context),
             DecodingError.valueNotFound(let type, let context):
            return ControlError(.badRequest, "\(fieldName(context)) must be \(jsonName(of: type))")
        case DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty:
            return ControlError(.badRequest, "not a JSON object")
        default:
            return ControlError(.badRequest, "malformed request")
        }
    }

    private static func fieldName(_ context: DecodingError.Context) -> String {
        context.codingPath.isEmpty
            ? "the request"
            : "\"" + context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
                .joined(separator: ".") + "\""
    }

    private static func jsonName(of type: Any.Type) -> String {
        switch type {
        case is Int.Type: "an integer"
        case is String.Type: "a string"
        case is [String].Type: "an array of strings"
        default: "an object"
        }
    }
}
