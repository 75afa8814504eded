package web

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"

	"trellis/designer"
	"trellis/engine"
	"trellis/templates"
)

// recoverProps fills the recovery actions of the run page: pause / resume and the rewind
// links in the header, retry / skip / fail and "rewind from here" in the inspector.
// operator says whether the viewer acts on incidents, rewinder whether they may rewind.
func (rv *runView) recoverProps(p *templates.RunLiveProps, operator, rewinder bool) {
	status := rv.status()
	c := templates.RunControlProps{RunID: p.RunID}
	if rv.run != nil {
		if rf := rv.run.RewoundFrom; rf != nil {
			c.RewoundFrom, c.FromNode = rf.RunID, rf.Node
		}
		c.RewoundAs = rv.run.RewoundAs
		if ic := rv.run.InputCorrected; ic != nil {
			c.InputCorrectedBy, c.RecordedInput = ic.By, rewindJSON(ic.Recorded)
		}
		for _, o := range rv.run.Operations {
			c.Operations = append(c.Operations, operatorActionText(o))
		}
	}
	live := status == engine.RunRunning || status == engine.RunWaiting || status == engine.RunHeld
	c.CanPause = operator && live && !rv.draft()
	c.CanResume = operator && status == engine.RunPaused
	if rewinder && !rv.draft() && (live || status == engine.RunPaused) && rv.latest > rv.tl.Version {
		c.MoveHref = runShowURL(p.RunID, ganttView{}) + "/migrate"
	}
	p.Control = c

	node := p.Inspector.Node
	if node == "" {
		return
	}
	r := templates.RunRecoverProps{RunID: p.RunID, Node: node}
	var st engine.NodeState
	if rv.run != nil {
		st = rv.run.Nodes[node]
	}
	r.ReusedFrom = st.ReusedFrom
	if c := st.Corrected; c != nil {
		r.CorrectedBy, r.Recorded, r.Output = c.By, rewindJSON(c.Recorded), rewindJSON(st.Output)
	}
	for _, a := range st.Actions {
		r.Actions = append(r.Actions, operatorActionText(a))
	}
	if operator && st.Status == engine.NodeHeld {
		r.CanIncident = true
		r.Ports = rv.nodePorts(node)
	}
	ended := rv.endedAt() != nil
	if rewinder && !rv.draft() && (ended || status == engine.RunHeld) {
		r.RewindHref = runShowURL(p.RunID, ganttView{}) + "/rewind?from=" + url.QueryEscape(node)
	}
	p.Inspector.Recover = r
}

// nodePorts lists a node's ports for a skip, out (when it has it) first.
func (rv *runView) nodePorts(id string) []string {
	n, ok := rv.tl.Definition.NodeByID(id)
	if !ok {
		return []string{designer.PortOut}
	}
	var ports []string
	if k, ok := designer.KindByName(n.Kind); ok && len(k.Ports) > 0 {
		ports = k.Ports
	} else if n.Kind == designer.KindApproval {
		var cfg designer.ApprovalConfig
		if json.Unmarshal(n.Config, &cfg) == nil {
			ports = cfg.OutcomeList()
		}
	}
	if len(ports) == 0 {
		return []string{designer.PortOut}
	}
	if i := slices.Index(ports, designer.PortOut); i > 0 {
		ports = append([]string{designer.PortOut}, slices.Delete(slices.Clone(ports), i, i+1)...)
	}
	return ports
}

func operatorActionText(a engine.OperatorAction) string {
	what := a.Action
	if a.Action == engine.ActionMigrate {
		what = fmt.Sprintf("moved from v%d to v%d", a.FromVersion, a.ToVersion)
	}
	s := what + " by " + a.By + " at " + runTimeOf(a.At)
	if a.Port != "" {
		s += " (port " + a.Port + ")"
	}
	if a.Comment != "" {
		s += ": " + a.Comment
	}
	return s
}
