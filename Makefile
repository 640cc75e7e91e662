# Entry points that are more than one cargo command.

.PHONY: conformance
# The upstream Gateway API conformance suite on a local cluster (conformance/run.sh).
conformance:
	bash conformance/run.sh
