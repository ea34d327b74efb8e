package balance

import "fmt"

// ByName returns the policy configured by name: "round_robin", "weighted" or
// "p2c". "hash" is refused because it needs a key; build a Hash value with
// its Key set instead.
func ByName(name string) (Policy, error) {
	switch name {
	case "round_robin":
		return RoundRobin{}, nil
	case "weighted":
		return Weighted{}, nil
	case "p2c":
		return P2C{}, nil
	case "hash":
		return nil, fmt.Errorf("balance policy %q needs a request key: build balance.Hash{Key: ...} (e.g. balance.HeaderKey, CookieKey, ClientIPKey) instead of ByName", name)
	}
	return nil, fmt.Errorf("unknown balance policy %q (valid: round_robin, weighted, p2c, hash)", name)
}
