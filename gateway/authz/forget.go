package authz

// ForgetRoute deletes the series of a route that a reload removed, once no
// request of the old route table can count into them any more: a request
// still running counts, and one that would count after the deletion does
// not, so the series do not come back.
func (m *Metrics) ForgetRoute(route string) {
	m.routes.Forget(route)
}
