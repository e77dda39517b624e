"""Generated protobuf messages and gRPC stub for svgvec.v1 (do not edit).

Regenerate with `npm run generate:python`; the hand-written client is svgvec_client.SvgVecClient.
"""
