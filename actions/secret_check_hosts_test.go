package actions_test

import (
	"context"
	"strings"
	"testing"

	"trellis/actions"
	"trellis/store/storetest"
)

// TestPublishRefusesSecretToOtherHost: a graph whose http node sends a secret bound to other
// hosts to a host written in its url is refused at validation and publish, naming the node;
// a host the run decides is left to the send-time check.
func TestPublishRefusesSecretToOtherHost(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	a := actions.New(db, db, nil, nil)
	if err := db.SetSecret(ctx, "PAY_KEY", "pk-123456"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetSecretHosts(ctx, "PAY_KEY", []string{"api.pay.example"}); err != nil {
		t.Fatal(err)
	}
	doc := func(url string) string {
		return `{"format": "trellis.graph/v1", "name": "Pay", "nodes": [{"id": "call", "kind": "http",
		  "config": {"url": "` + url + `", "headers": {"Authorization": "Bearer {{ secrets['PAY_KEY'] }}"}}}], "edges": []}`
	}
	for url, refused := range map[string]bool{
		"https://evil.example/steal":                 true,
		"https://user@evil.example:8443/x?y={{ 1 }}": true,
		"https://api.pay.example/v1/charge":          false,
		"https://API.PAY.EXAMPLE:443/v1":             false,
		"https://{{ input.host }}/v1":                false,
		"{{ input.base }}/v1":                        false,
	} {
		cd, err := a.Check(ctx, []byte(doc(url)), "")
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		got := false
		for _, p := range cd.Problems {
			if p.Node == "call" && p.Field == "config.url" && strings.Contains(p.Message, "may be sent only to api.pay.example") {
				got = true
			}
		}
		if got != refused {
			t.Errorf("%s: refused %v, want %v: %+v", url, got, refused, cd.Problems)
		}
	}
}
