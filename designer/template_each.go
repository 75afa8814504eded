package designer

// RenderParts evaluates the template in order, as Render does, and hands each piece to
// write: literal text with expr false, and each expression's value, written as Render
// writes it, with expr true. It lets a caller escape values for where they land, as an
// http node's url does.
func (t *Template) RenderParts(scope map[string]any, write func(s string, expr bool)) error {
	return t.eachPart(NewMeter(DefaultBudget), scope, write)
}
