package translate

import (
	"slices"
	"strings"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/k8s/api/v1alpha1"
)

// translateConsumers builds the access block: the base configuration's
// (store, prices, teams, admin) plus one consumer per Consumer, named
// namespace/name, its key hashes read from Secrets. A team a Consumer names
// that the base does not declare is added without limits.
func (t *translator) translateConsumers() {
	var base *config.Access
	if t.opts.Base != nil {
		base = t.opts.Base.Access
	}
	if len(t.in.Consumers) == 0 && base == nil {
		return
	}
	acc := &config.Access{}
	if base != nil {
		*acc = *base
		acc.Teams = slices.Clone(base.Teams)
		acc.Consumers = slices.Clone(base.Consumers)
	}
	teams := map[string]bool{}
	for _, tm := range acc.Teams {
		teams[tm.Name] = true
	}
	cs := make([]*v1alpha1.Consumer, 0, len(t.in.Consumers))
	for i := range t.in.Consumers {
		cs = append(cs, &t.in.Consumers[i])
	}
	slices.SortFunc(cs, func(a, b *v1alpha1.Consumer) int {
		return strings.Compare(key(a.Namespace, a.Name), key(b.Namespace, b.Name))
	})
	for _, c := range cs {
		cc := config.Consumer{Name: key(c.Namespace, c.Name), Team: c.Spec.Team,
			Limits: slices.Clone(c.Spec.Limits), Budgets: slices.Clone(c.Spec.Budgets)}
		var issues []string
		for _, k := range c.Spec.Keys {
			hash, issue := t.secretValue(c.Namespace, k.HashSecretRef.Name, k.HashSecretRef.Key)
			if issue != "" {
				issues = append(issues, issue)
				continue
			}
			ck := config.APIKey{ID: k.ID, Hash: strings.TrimSpace(hash), Models: slices.Clone(k.Models),
				Limits: slices.Clone(k.Limits), Budgets: slices.Clone(k.Budgets)}
			if _, ok := config.KeyHash(ck.Hash); !ok {
				issues = append(issues, "Secret "+c.Namespace+"/"+k.HashSecretRef.Name+" key "+k.HashSecretRef.Key+" is not sha256:<64 hex digits>")
				continue
			}
			if k.ExpiresAt != nil {
				at := k.ExpiresAt.UTC()
				ck.ExpiresAt = &at
			}
			cc.Keys = append(cc.Keys, ck)
		}
		if cc.Team != "" && !teams[cc.Team] {
			teams[cc.Team] = true
			acc.Teams = append(acc.Teams, config.Team{Name: cc.Team})
		}
		acc.Consumers = append(acc.Consumers, cc)
		issue := strings.Join(issues, "; ")
		conds := resourceConds(c.Generation, issue)
		if issue != "" {
			// The consumer is served with the keys that resolved.
			conds[0] = condition("Accepted", true, "Accepted", "", c.Generation)
			t.problem("Consumer", c.Namespace, c.Name, "%s", issue)
		}
		t.status.Resources["Consumer/"+cc.Name] = conds
	}
	t.cfg.Access = acc
}
