These items have reached their low-stock threshold since the last check:

{% for i in items %}  {{ i.name }} ({{ i.sku }}): {{ i.available }} available, threshold {{ i.threshold }}
{% endfor %}
Inventory: {{ base_url }}/admin/inventory
